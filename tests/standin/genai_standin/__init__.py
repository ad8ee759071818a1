"""A local AWS stand-in (moto's server plus a few CloudFormation patches) for rehearsing deploys."""
