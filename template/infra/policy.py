"""An IAM policy evaluator: is one request allowed by the policies that apply to it?

infra/access.py asks it about each call between the services of a deployed stage. No
maintained Python library evaluates resource policies with a request context (moto's
evaluator knows neither), so this is a small one, written after two AWS pages:

- "Policy evaluation logic", IAM user guide
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
  an explicit Deny in any applicable policy wins; else, within one account, an Allow in the
  resource's policy or in the principal's identity policies allows (their union); else the
  request is implicitly denied. Service control, resource control and session policies and
  permissions boundaries are left out: a stage's stacks make none, and an organization's SCPs
  cannot be read from the account (infra/access.py says so in its docstring and the README).
- "IAM JSON policy elements: Condition operators"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
  every operator (String*, Numeric*, Date*, Bool, BinaryEquals, IpAddress, Arn*, Null), the
  ...IfExists suffix and the ForAllValues:/ForAnyValue: set qualifiers. A key absent from the
  request makes a condition false, but true for a negated operator (StringNotEquals,
  ArnNotLike, ...) and for ...IfExists; Null tests the absence itself.

A request is a principal, an action, a resource and a context (condition keys, matched
case-insensitively by name as AWS does). Policies are documents as the APIs return them
(IAM's GetRolePolicy, Lambda's GetPolicy, SNS's topic Policy attribute), tagged with a name
the answer reports. Only the standard library is needed.
"""

import base64
import ipaddress
import re
from datetime import datetime, timezone


class Request:
    """One call as AWS authorizes it. `principal` is {"Service": "sns.amazonaws.com"} or
    {"AWS": "<role or user ARN>"}; `account` is the principal's account (None for a service)."""

    def __init__(self, principal, action, resource, context=None, account=None):
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = {k.lower(): v for k, v in (context or {}).items()}
        self.account = account

    def who(self):
        return next(iter(self.principal.values()))


class Decision:
    """The answer: `allowed`, and the statement that decided (policy name, Sid or index), or
    None when nothing allowed (implicit deny)."""

    def __init__(self, allowed, policy=None, statement=None):
        self.allowed = allowed
        self.policy = policy
        self.statement = statement

    def because(self):
        if self.policy is None:
            return "no policy allows it (implicit deny)"
        verb = "allows" if self.allowed else "explicitly denies"
        return f"{self.policy} statement {self.statement} {verb} it"


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def glob(pattern, value, ignore_case=False):
    """IAM's wildcards: `*` any run of characters (also none), `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def substitute(pattern, context):
    """Policy variables (`${aws:username}`, `${*}`, ...): "IAM policy elements: Variables and
    tags" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
    A variable the context lacks leaves the element unmatched (None), as AWS does, unless it
    names a default (`${aws:username, 'none'}`)."""
    if "${" not in pattern:
        return pattern
    missing = False

    def value(match):
        nonlocal missing
        name, _, default = match.group(1).partition(",")
        name = name.strip()
        if name in ("*", "?", "$"):
            return name
        found = context.get(name.lower())
        if isinstance(found, list):
            found = found[0] if found else None
        if found is None:
            default = default.strip().strip("'")
            if default:
                return default
            missing = True
            return ""
        return str(found)

    text = re.sub(r"\$\{([^}]*)\}", value, pattern)
    return None if missing else text


def arn_match(pattern, value):
    """ArnLike/ArnEquals: the six colon-separated parts match one by one, each with wildcards
    (condition operators page, "Amazon Resource Name (ARN) condition operators")."""
    p, v = pattern.split(":", 5), value.split(":", 5)
    return len(p) == len(v) == 6 and all(glob(a, b) for a, b in zip(p, v))


def _number(text):
    return float(text)


def _date(text):
    text = str(text)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), timezone.utc)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _bool(text):
    return str(text).lower()


def _ip(policy, value):
    return ipaddress.ip_address(value) in ipaddress.ip_network(policy, strict=False)


# Each base operator: (compare(policy value, request value) -> bool, negated). A negated one
# matches when the request value matches none of the policy's values.
OPERATORS = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), True),
    "StringLike": (lambda p, v: glob(p, v), False),
    "StringNotLike": (lambda p, v: glob(p, v), True),
    "NumericEquals": (lambda p, v: _number(p) == _number(v), False),
    "NumericNotEquals": (lambda p, v: _number(p) == _number(v), True),
    "NumericLessThan": (lambda p, v: _number(v) < _number(p), False),
    "NumericLessThanEquals": (lambda p, v: _number(v) <= _number(p), False),
    "NumericGreaterThan": (lambda p, v: _number(v) > _number(p), False),
    "NumericGreaterThanEquals": (lambda p, v: _number(v) >= _number(p), False),
    "DateEquals": (lambda p, v: _date(p) == _date(v), False),
    "DateNotEquals": (lambda p, v: _date(p) == _date(v), True),
    "DateLessThan": (lambda p, v: _date(v) < _date(p), False),
    "DateLessThanEquals": (lambda p, v: _date(v) <= _date(p), False),
    "DateGreaterThan": (lambda p, v: _date(v) > _date(p), False),
    "DateGreaterThanEquals": (lambda p, v: _date(v) >= _date(p), False),
    "Bool": (lambda p, v: _bool(p) == _bool(v), False),
    "BinaryEquals": (lambda p, v: base64.b64decode(p) == base64.b64decode(v), False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    "ArnEquals": (arn_match, False),
    "ArnLike": (arn_match, False),
    "ArnNotEquals": (arn_match, True),
    "ArnNotLike": (arn_match, True),
}
# String and ARN operators take policy variables; the others compare literal values.
TAKES_VARIABLES = ("String", "Arn")


class Unsupported(ValueError):
    """A policy uses an operator this evaluator does not know: say which, rather than guess."""


def condition_holds(operator, key, policy_values, context):
    """One operator on one key (the policy's values are alternatives: any may match)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base[: -len("IfExists")] if if_exists else base
    present = key.lower() in context
    values = [str(v) for v in as_list(policy_values)]
    if base == "Null":
        # "true": the key must be absent; "false": present.
        return any((v.lower() == "true") != present for v in values)
    if base not in OPERATORS:
        raise Unsupported(f"condition operator {operator} is not one this evaluator knows (policy.py OPERATORS)")
    compare, negated = OPERATORS[base]
    if not present:
        # Absent key: false, but true for a negated operator, for ...IfExists, and for
        # ForAllValues (every one of no values matches).
        return if_exists or negated or qualifier == "ForAllValues"
    request_values = [str(v) for v in as_list(context[key.lower()])]
    if base.startswith(TAKES_VARIABLES):
        values = [s for s in (substitute(v, context) for v in values) if s is not None]

    def matches(value):
        try:
            hit = any(compare(p, value) for p in values)
        except (ValueError, TypeError):
            hit = False  # a value of the wrong type matches nothing
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(matches(v) for v in request_values)
    if qualifier == "ForAnyValue":
        return any(matches(v) for v in request_values)
    # A single-valued key; a list in the context is read as any of its values.
    return any(matches(v) for v in request_values)


def conditions_hold(condition, context):
    """Every operator block, and every key in it, must hold (AND); values within a key are ORed."""
    return all(
        condition_holds(operator, key, values, context)
        for operator, keys in (condition or {}).items()
        for key, values in keys.items()
    )


def principal_matches(element, request):
    """A resource policy's Principal: "*", {"AWS": "*"}, a role ARN, a service name. An
    account (`123456789012` or its `:root` ARN) does not match a role of it by itself: it
    delegates to that account's identity policies, which decide (evaluation logic page,
    "Cross-account policy evaluation logic" and the same-account rules)."""
    if element == "*":
        return True
    for kind, names in (element or {}).items():
        wanted = request.principal.get(kind)
        for name in as_list(names):
            if name == "*" or (wanted is not None and name == wanted):
                return True
    return False


def _matches_any(patterns, value, ignore_case, context):
    for pattern in as_list(patterns):
        pattern = substitute(pattern, context)
        if pattern is not None and glob(pattern, value, ignore_case):
            return True
    return False


def statement_applies(statement, request, resource_policy):
    if "Action" in statement:
        action = _matches_any(statement["Action"], request.action, True, {})
    else:
        action = not _matches_any(statement.get("NotAction"), request.action, True, {})
    if not action:
        return False
    if "Resource" in statement:
        resource = _matches_any(statement["Resource"], request.resource, False, request.context)
    elif "NotResource" in statement:
        resource = not _matches_any(statement["NotResource"], request.resource, False, request.context)
    else:
        resource = True  # a resource policy may leave it out: the resource it is attached to
    if not resource:
        return False
    if resource_policy:
        if "Principal" in statement and not principal_matches(statement["Principal"], request):
            return False
        if "NotPrincipal" in statement and principal_matches(statement["NotPrincipal"], request):
            return False
    return conditions_hold(statement.get("Condition"), request.context)


def statements(document):
    return as_list((document or {}).get("Statement"))


def decide(request, identity=(), resource=()):
    """Whether `request` is allowed. `identity` and `resource` are (name, document) pairs: the
    principal's identity policies (none for a service principal) and the resource's policy.
    Same-account evaluation: explicit Deny anywhere, else an Allow in either, else deny."""
    allow = None
    for is_resource, policies in ((False, identity), (True, resource)):
        for name, document in policies:
            for index, statement in enumerate(statements(document)):
                if not statement_applies(statement, request, is_resource):
                    continue
                label = statement.get("Sid") or f"#{index + 1}"
                if statement.get("Effect") == "Deny":
                    return Decision(False, name, label)
                if statement.get("Effect") == "Allow" and allow is None:
                    allow = Decision(True, name, label)
    return allow or Decision(False)
