"""The CDN's template for a stage: cdn.yaml with the fragments (cdn/<service>.yaml) of the
strategies it routes.

A fragment is a strategy's part of the CDN, kept in its own file so that cdn.yaml names no
strategy. Its `Parameters` (the same one may be in several), `Conditions` and `Resources` join
cdn.yaml's, its `Origins` and
`CacheBehaviors` join the distribution's, and `Published` says where each of its parameters'
values comes from: the name its stack published under /<project>/<stage>/deploy/ in SSM.
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = ("Parameters", "Conditions", "Resources")
# The distribution's lists a fragment adds to, and what must be unique in each.
DISTRIBUTION_LISTS = {"Origins": "Id", "CacheBehaviors": "PathPattern"}


def load(path):
    # samtranslator (the SAM CLI's) reads CloudFormation's short forms (!Ref, !Sub) as sam does.
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


def fragments():
    """Every fragment present, by service."""
    return {path.stem: load(path) for path in sorted((HERE / "cdn").glob("*.yaml"))}


def routed(published, present):
    """The services whose fragment joins the CDN: those `present` in the project whose every
    `Published` name the stage has. A strategy the stage still has but the project no longer
    declares (after `genai-scaffold remove`) leaves the CDN, and one not yet deployed waits."""
    return [
        service
        for service, fragment in fragments().items()
        if service in present and all(name in published for name in fragment.get("Published", {}).values())
    ]


def parameters(services, published):
    """The fragments' parameters for `services`, valued from what the stage published."""
    found = fragments()
    return {param: published[name] for s in services for param, name in found[s].get("Published", {}).items()}


def template(services):
    """cdn.yaml with the fragments of `services` merged in."""
    merged = load(HERE / "cdn.yaml")
    (distribution,) = [r for r in merged["Resources"].values() if r["Type"] == "AWS::CloudFront::Distribution"]
    config = distribution["Properties"]["DistributionConfig"]
    found = fragments()
    for service in services:
        fragment = found[service]
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
