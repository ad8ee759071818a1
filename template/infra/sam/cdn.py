"""The CDN's template for a stage: cdn.yaml with the fragments (cdn/<service>.yaml) of the
strategies it routes, those the project declares and the stage has published.

A fragment is a strategy's part of the CDN, kept in its own file so that cdn.yaml names no
strategy. Its `Parameters` (the same one may be in several), `Conditions` and `Resources` join
cdn.yaml's, its `Origins` and `CacheBehaviors` join the distribution's, and `Published` says
where the values of its endpoint parameters come from: the name its stack published under
/<project>/<stage>/deploy/ in SSM. (`OriginSecret`, which fragments may share, is the name of
the secret's SSM parameter, which parameters.py passes.)
"""

import copy
import functools
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = ("Parameters", "Conditions", "Resources")
# The distribution's lists a fragment adds to, and what must be unique in each.
DISTRIBUTION_LISTS = {"Origins": "Id", "CacheBehaviors": "PathPattern"}
KEYS = {"Published", *SECTIONS, *DISTRIBUTION_LISTS}


def load(path):
    try:
        # The SAM CLI's reader of CloudFormation's short forms (!Ref, !Sub), as sam reads them.
        from samtranslator.yaml_helper import yaml_parse
    except ImportError:
        raise ValueError("the SAM CLI's Python packages are missing: run `make infra-tools` (or `make bootstrap`)") from None
    return yaml_parse(path.read_text())


@functools.cache
def fragments():
    """Every fragment present, by service, read once; a key cdn.py would not read is refused.
    Callers read it only: template() merges copies."""
    found = {}
    for path in sorted((HERE / "cdn").glob("*.yaml")):
        fragment = load(path)
        unknown = sorted(set(fragment) - KEYS)
        if unknown:
            raise ValueError(f"cdn/{path.name}: {', '.join(unknown)} is not a fragment's; use {', '.join(sorted(KEYS))}")
        found[path.stem] = fragment
    return found


def missing(published, service):
    """The names `service`'s fragment reads that the stage has not published."""
    return [name for name in fragments()[service].get("Published", {}).values() if name not in published]


def routed(published, present):
    """The services whose fragment joins the CDN: those `present` in the project whose every
    `Published` name the stage has. A strategy the stage still has but the project no longer
    declares (after `genai-scaffold remove`) leaves the CDN, and one not yet deployed waits."""
    return [service for service in fragments() if service in present and not missing(published, service)]


def parameters(services, published):
    """The fragments' endpoint parameters for `services`, valued from what the stage published."""
    found = fragments()
    return {param: published[name] for s in services for param, name in found[s].get("Published", {}).items()}


def template(services, base=None):
    """cdn.yaml (or `base`, a template read from it) with the fragments of `services` merged in."""
    merged = base if base is not None else load(HERE / "cdn.yaml")
    (distribution,) = [r for r in merged["Resources"].values() if r["Type"] == "AWS::CloudFront::Distribution"]
    config = distribution["Properties"]["DistributionConfig"]
    found = fragments()
    for service in services:
        fragment = copy.deepcopy(found[service])
        for section in SECTIONS:
            existing = merged.setdefault(section, {})
            for name, value in fragment.get(section, {}).items():
                # Two fragments may need the same parameter; anything else twice is a clash.
                if name in existing and not (section == "Parameters" and existing[name] == value):
                    raise ValueError(f"cdn/{service}.yaml: {section}.{name} is declared twice; rename it")
                existing[name] = value
        for key, unique in DISTRIBUTION_LISTS.items():
            items = config.setdefault(key, [])
            for item in fragment.get(key, []):
                if any(item[unique] == other[unique] for other in items):
                    raise ValueError(f"cdn/{service}.yaml: {key} has {unique} {item[unique]} twice; each must be one strategy's")
                items.append(item)
    return merged


def write(services, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(template(services), indent=1))
