"""Validating REST responses against Flink's OpenAPI spec (tests/rest/rest_v1_dispatcher.yml).

    spec = Spec()                                   # Flink 1.20's spec, with WIRE_ERRATA applied
    op = spec.operation("GET", "/jobs/0123.../vertices/abcd...")   # templated paths match
    errors = spec.validate_response("GET", "/jobs/" + jid, 200, body, strict=True,
                                    allow_missing=["$.failure-cause"])
    spec.check_response("GET", path, status, body, ...)   # the same, raising AssertionError

What is checked:
  - the body against the response schema the spec gives for the operation and status code, as
    JSON Schema (python3-jsonschema, Draft 2020-12) after translating OpenAPI 3.0 specifics:
    `$ref: '#/components/schemas/X'`, `nullable`, `additionalProperties` schema maps, `enum`
    (Flink's state names), `oneOf`/`anyOf`, `allOf`, `discriminator` (Flink's CheckpointStatistics
    `className` -> completed / failed / in_progress), and integer formats: `int32`/`int64` values
    must be JSON integers (not 5.0, not true) within range, `double` values finite numbers.
  - strict mode (the default of validate_response): Flink's schemas hardly ever say `required`,
    so a body missing fields would pass; strict mode also requires every property a schema
    declares (recursively: nested objects, array items, map values, the chosen oneOf branch,
    the discriminated subtype). `allow_missing` lists JSON paths that may be absent (or null):
    the fields Flink itself only sends sometimes, e.g. `$.failure-cause`. Extra properties are
    always allowed (Sluice adds some).
  - errors name the JSON path and the problem, e.g.
        $.vertices[0].maxParallelism: missing (declared by JobDetailsVertexInfo)
        $.vertices[0].parallelism: '2' is not of type 'integer'

Allow-list paths: `$` is the body; `.name` or `['name']` a member (brackets for names with dots,
e.g. `$['0.numRecordsIn']`), `[3]` an array element, `[*]` any element, `.*` any member, and
`..name` the member at any depth (`$..failure-cause`).

Operations: `operation(method, path)` matches a concrete path (query string ignored) against the
spec's templates, `{jobid}` etc. matching one non-empty segment; where several match, the one
with the most literal segments wins (`/jobs/overview` over `/jobs/{jobid}`). A status the spec
does not document for the operation is an error of its own; 4xx/5xx bodies are validated
against ErrorResponseBody (`{"errors": [string]}`) with validate_error().

WIRE_ERRATA: the spec is generated from Flink's Java classes, and for a few of them Flink's
custom Jackson serializers put something else on the wire than the generated schema says. A tool
written for Flink reads the wire format, so by default (Spec(errata=True)) those schemas are
replaced by what Flink 1.20 actually sends; each entry names the Flink class that says so.
Spec(errata=False) validates against the spec as published.

The spec is read with PyYAML and validated with python3-jsonschema, both Debian packages
(the default python3 here is pyenv's, hence the dist-packages path below).
"""

import copy
import json
import math
import os
import re
import sys

if "/usr/lib/python3/dist-packages" not in sys.path:
    sys.path.append("/usr/lib/python3/dist-packages")

import jsonschema  # noqa: E402  (python3-jsonschema)
import yaml  # noqa: E402  (python3-yaml)

DEFAULT_SPEC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                             "rest", "rest_v1_dispatcher.yml"))

_REF_PREFIX = "#/components/schemas/"
_DEFS_PREFIX = "#/$defs/"
_HEX32 = {"type": "string", "pattern": "^[0-9a-f]{32}$"}


def _ref(name):
    return {"$ref": _REF_PREFIX + name}


_INT64 = {"type": "integer", "format": "int64"}
_DOUBLE = {"type": "number", "format": "double"}

# Schemas replaced by what Flink 1.20 puts on the wire (see the module docstring). Each value is
# an OpenAPI schema like the spec's own.
WIRE_ERRATA = {
    # MetricCollectionResponseBody.Serializer writes getMetrics() itself: the body of every
    # metrics endpoint (/jobmanager/metrics, /jobs/:jid/metrics, .../vertices/:vid/metrics,
    # .../watermarks, /taskmanagers/:tmid/metrics) is a bare JSON array [{"id", "value"}], not
    # {"metrics": [...]}. Metric.value is a string and NON_NULL (absent in a listing without ?get).
    "MetricCollectionResponseBody": {"type": "array", "items": _ref("Metric")},
    # AggregatedMetricsResponseBody.Serializer likewise: [{"id", "min", "max", "avg", "sum",
    # "skew"}] (AggregatedMetric: `id` required, the aggregates NON_NULL doubles, present with
    # ?get= for every aggregation ?agg= asks for, all five by default).
    "AggregatedMetricsResponseBody": {"type": "array", "items": _ref("AggregatedMetric")},
    "AggregatedMetric": {
        "type": "object", "required": ["id"],
        "properties": {"id": {"type": "string"}, "min": _DOUBLE, "max": _DOUBLE, "avg": _DOUBLE,
                       "sum": _DOUBLE, "skew": _DOUBLE}},
    # JobConfigInfo.Serializer writes "jid", "name" and "execution-config" (the spec's jobId,
    # jobName, executionConfigInfo are Java getter names that never reach the wire).
    "JobConfigInfo": {
        "type": "object",
        "properties": {"jid": _ref("JobID"), "name": {"type": "string"},
                       "execution-config": _ref("ExecutionConfigInfo")}},
    # JobExecutionResultResponseBody's "job-execution-result" is written by JobResultSerializer:
    # "id", "application-status", "accumulator-results" (name -> base64 SerializedValue),
    # "net-runtime" and, only when the job failed, "failure-cause".
    "JobResult": {
        "type": "object",
        "properties": {"id": _ref("JobID"),
                       "application-status": _ref("ApplicationStatus"),
                       "accumulator-results": {"type": "object",
                                               "additionalProperties": {"type": "string"}},
                       "net-runtime": _INT64,
                       "failure-cause": _ref("SerializedThrowable")}},
    # SerializedThrowableSerializer writes "class", "stack-trace" and "serialized-throwable".
    "SerializedThrowable": {
        "type": "object",
        "properties": {"class": {"type": "string"}, "stack-trace": {"type": "string"},
                       "serialized-throwable": {"type": "string", "format": "binary"}}},
    # CheckpointConfigInfo.ProcessingModeSerializer writes mode.name().toLowerCase():
    # /jobs/:jid/checkpoints/config has "mode": "exactly_once" or "at_least_once".
    "ProcessingMode": {"type": "string", "enum": ["at_least_once", "exactly_once"]},
    # SlotSharingGroupIDSerializer writes the id as its hex string, not as an object.
    "SlotSharingGroupId": dict(_HEX32),
    # ResourceIDSerializer writes getResourceIdString(): any string (a standalone Flink
    # TaskManager's is "host:port-xxxxxx"), so the spec's 32-hex pattern is not a contract.
    "ResourceID": {"type": "string"},
    # AbstractID-based ids are exactly 32 lowercase hex characters (JSON Schema patterns are
    # unanchored: "[0-9a-f]{32}" alone would accept 40 hex characters or a prefix).
    "JobID": dict(_HEX32),
    "JobVertexID": dict(_HEX32),
    "TriggerId": dict(_HEX32),
    "IntermediateDataSetID": dict(_HEX32),
}

# Flink's ErrorResponseBody ({"errors": [string]}); the generated spec has no error schemas, so
# this is used when it lacks one.
ERROR_RESPONSE_BODY = {
    "type": "object", "required": ["errors"],
    "properties": {"errors": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}

_INT_RANGES = {"int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1)}


def format_path(tokens):
    """JSON path text of a sequence of keys (str) and indexes (int): $.a[0]['b.c']."""
    out = "$"
    for t in tokens:
        if isinstance(t, int):
            out += f"[{t}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", t):
            out += "." + t
        else:
            out += "[" + repr(t) + "]"
    return out


def parse_path_pattern(text):
    """Parses an allow-list path ($.a[*].b, $['x.y'], $.*.c, $..d) into tokens."""
    if not text.startswith("$"):
        raise ValueError(f"path pattern {text!r} must start with '$'")
    tokens = []
    i = 1
    while i < len(text):
        if text.startswith("..", i):
            m = re.match(r"\.\.([^.\[]+)", text[i:])
            if not m:
                raise ValueError(f"bad '..' in path pattern {text!r}")
            tokens.append(("deep", None))
            tokens.append(("key", m.group(1)))
            i += m.end()
        elif text[i] == ".":
            m = re.match(r"\.([^.\[]+)", text[i:])
            if not m:
                raise ValueError(f"bad member in path pattern {text!r}")
            name = m.group(1)
            tokens.append(("anykey", None) if name == "*" else ("key", name))
            i += m.end()
        elif text[i] == "[":
            m = re.match(r"\[(\*|\d+|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\]", text[i:])
            if not m:
                raise ValueError(f"bad [...] in path pattern {text!r}")
            inner = m.group(1)
            if inner == "*":
                tokens.append(("anyindex", None))
            elif inner.isdigit():
                tokens.append(("index", int(inner)))
            else:
                tokens.append(("key", inner[1:-1].replace("\\'", "'").replace('\\"', '"')))
            i += m.end()
        else:
            raise ValueError(f"unexpected {text[i]!r} in path pattern {text!r}")
    return tokens


def _match(pattern, path):
    if not pattern:
        return not path
    kind, value = pattern[0]
    if kind == "deep":
        return any(_match(pattern[1:], path[k:]) for k in range(len(path) + 1))
    if not path:
        return False
    t = path[0]
    if kind == "key":
        ok = isinstance(t, str) and t == value
    elif kind == "anykey":
        ok = isinstance(t, str)
    elif kind == "index":
        ok = isinstance(t, int) and t == value
    else:  # anyindex
        ok = isinstance(t, int)
    return ok and _match(pattern[1:], path[1:])


class AllowList:
    def __init__(self, patterns=()):
        self.texts = list(patterns)
        self.patterns = [parse_path_pattern(p) for p in self.texts]

    def allows(self, path_tokens):
        return any(_match(p, list(path_tokens)) for p in self.patterns)


def _template_regex(template):
    parts = []
    for seg in template.strip("/").split("/"):
        parts.append("[^/]+" if re.fullmatch(r"\{[^}]+\}", seg) else re.escape(seg))
    return re.compile("^/" + "/".join(parts) + "$"), sum(
        1 for seg in template.strip("/").split("/") if not seg.startswith("{"))


class Operation:
    def __init__(self, method, template, spec_op):
        self.method = method.upper()
        self.template = template
        self.raw = spec_op

    @property
    def statuses(self):
        return sorted(str(s) for s in self.raw.get("responses", {}))

    def response(self, status):
        """(documented, schema or None): schema is the OpenAPI schema of the JSON body."""
        resp = self.raw.get("responses", {}).get(str(status))
        if resp is None:
            return False, None
        content = resp.get("content") or {}
        media = content.get("application/json")
        return True, (media or {}).get("schema")

    def request_schema(self):
        body = self.raw.get("requestBody") or {}
        return ((body.get("content") or {}).get("application/json") or {}).get("schema")

    def __repr__(self):
        return f"{self.method} {self.template}"


class Spec:
    """Flink's OpenAPI spec, its operations and a validator of response bodies."""

    def __init__(self, path=DEFAULT_SPEC, errata=True):
        with open(path) as f:
            self.raw = yaml.safe_load(f)
        self.path = path
        self.version = self.raw.get("info", {}).get("version")
        schemas = copy.deepcopy(self.raw.get("components", {}).get("schemas", {}))
        self.errata_applied = []
        if errata:
            for name, replacement in WIRE_ERRATA.items():
                schemas[name] = copy.deepcopy(replacement)
                self.errata_applied.append(name)
        if "ErrorResponseBody" not in schemas:
            schemas["ErrorResponseBody"] = copy.deepcopy(ERROR_RESPONSE_BODY)
        self.openapi_schemas = schemas
        self.defs = self._translate_all(schemas)
        self._templates = []
        for template, item in (self.raw.get("paths") or {}).items():
            regex, literal = _template_regex(template)
            self._templates.append((template, regex, literal, item))
        self._format_checker = self._make_format_checker()

    # ---- operations ----

    def operation(self, method, path):
        """The Operation for a concrete path; LookupError (listing what exists) if none."""
        path = path.split("?", 1)[0]
        if len(path) > 1:
            path = path.rstrip("/")
        method = method.lower()
        candidates = [(literal, template, item) for template, regex, literal, item
                      in self._templates if regex.match(path)]
        if not candidates:
            raise LookupError(f"the spec has no path matching {path}")
        candidates.sort(key=lambda c: -c[0])
        for _, template, item in candidates:
            if method in item:
                return Operation(method, template, item[method])
        methods = sorted(m.upper() for m in candidates[0][2])
        raise LookupError(f"the spec has no {method.upper()} for {candidates[0][1]} "
                          f"(it documents {', '.join(methods)})")

    def schema(self, name):
        """An OpenAPI schema of components/schemas (after errata), e.g. for its enum."""
        return self.openapi_schemas[name]

    def enum(self, name):
        return list(self.openapi_schemas[name]["enum"])

    # ---- validation ----

    def validate_response(self, method, path, status, body, strict=True, allow_missing=()):
        """Errors (list of strings, empty if valid) of a response body for the operation."""
        try:
            op = self.operation(method, path)
        except LookupError as e:
            return [str(e)]
        documented, schema = op.response(status)
        if not documented:
            if int(status) >= 400:
                return self.validate_error(body)
            return [f"HTTP {status} is not a response the spec documents for {op} "
                    f"(documented: {', '.join(op.statuses)})"]
        if schema is None:
            # Flink's EmptyResponseBody: "{}" (an empty body is tolerated).
            if body in ("", None) or body == {}:
                return []
            return [f"$: {op} documents no response body for HTTP {status} (Flink sends {{}}), "
                    f"found {json.dumps(body)[:200]}"]
        return self.validate(body, schema, strict=strict, allow_missing=allow_missing)

    def validate_error(self, body):
        if not isinstance(body, (dict, list)):
            return [f"$: an error body must be JSON ({{\"errors\": [...]}}), found "
                    f"{str(body)[:200]!r}"]
        return self.validate(body, _ref("ErrorResponseBody"), strict=True)

    def check_response(self, method, path, status, body, strict=True, allow_missing=()):
        errors = self.validate_response(method, path, status, body, strict, allow_missing)
        if errors:
            raise AssertionError(self.describe(f"{method.upper()} {path} (HTTP {status})",
                                               errors, body))

    @staticmethod
    def describe(what, errors, body):
        text = json.dumps(body)
        if len(text) > 3000:
            text = text[:3000] + " ..."
        return (f"{what}: {len(errors)} contract violation(s):\n  " + "\n  ".join(errors)
                + f"\nbody: {text}")

    def validate(self, instance, schema, strict=False, allow_missing=()):
        """Errors of instance against an OpenAPI schema (a dict, e.g. {"$ref": ...})."""
        allow = allow_missing if isinstance(allow_missing, AllowList) else AllowList(
            allow_missing)
        translated = self._translate(schema)
        errors = self._schema_errors(instance, translated, [], allow)
        # The walk below checks the oneOf/anyOf branch a body fits best (JSON Schema's anyOf
        # accepts a body if any branch does, which hides a wrong type in the branch meant) and,
        # in strict mode, that every declared property is present.
        self._strict(instance, translated, [], errors, allow, None, strict)
        # One message per problem, in document order; "missing (declared by X)" says more than
        # JSON Schema's "missing (required)" for the same path.
        declared = {e.split(": missing (declared", 1)[0] for e in errors
                    if ": missing (declared" in e}
        seen = set()
        unique = []
        for e in errors:
            if e.endswith(": missing (required)") and e[:-len(": missing (required)")] in declared:
                continue
            if e not in seen:
                seen.add(e)
                unique.append(e)
        return unique

    def _schema_errors(self, instance, translated, prefix, allow):
        root = dict(translated)
        root["$defs"] = self.defs
        validator = jsonschema.Draft202012Validator(root, format_checker=self._format_checker)
        errors = []
        ordered = sorted(validator.iter_errors(instance), key=lambda e: [str(x) for x in e.path])
        for error in ordered:
            errors.extend(self._describe_error(error, allow, prefix))
        return errors

    # ---- internals: OpenAPI -> JSON Schema ----

    def _translate_all(self, schemas):
        defs = {}
        # Discriminated bases: the subtypes' allOf refers to a copy without the discriminator,
        # so that validating a subtype does not dispatch again (endless recursion).
        bases = {}
        for name, s in schemas.items():
            if isinstance(s, dict) and "discriminator" in s:
                bases[name] = name + "__base"
        for name, s in schemas.items():
            defs[name] = self._translate(s, subtype_of=bases)
        for name, base in bases.items():
            s = copy.deepcopy(schemas[name])
            disc = s.pop("discriminator")
            defs[base] = self._translate(s)
            mapping = {k: self._translate({"$ref": v}) for k, v in
                       (disc.get("mapping") or {}).items()}
            prop = disc["propertyName"]
            conds = [{"if": {"properties": {prop: {"const": k}}, "required": [prop]},
                      "then": ref} for k, ref in mapping.items()]
            defs[name] = {"allOf": [{"$ref": _DEFS_PREFIX + base}] + conds,
                          "properties": {prop: {"enum": sorted(mapping)}},
                          "x-discriminator": {"property": prop, "mapping": mapping}}
        return defs

    def _translate(self, s, subtype_of=None):
        """One OpenAPI schema as JSON Schema (refs to #/$defs/, nullable, oneOf -> anyOf)."""
        if isinstance(s, list):
            return [self._translate(x, subtype_of) for x in s]
        if not isinstance(s, dict):
            return s
        out = {}
        for key, value in s.items():
            if key == "$ref":
                name = value[len(_REF_PREFIX):] if value.startswith(_REF_PREFIX) else value
                out["$ref"] = _DEFS_PREFIX + name
            elif key == "allOf" and subtype_of:
                # A subtype's allOf names its discriminated base: point it at the base copy.
                parts = []
                for part in value:
                    if isinstance(part, dict) and part.get("$ref", "").startswith(_REF_PREFIX):
                        name = part["$ref"][len(_REF_PREFIX):]
                        if name in subtype_of:
                            parts.append({"$ref": _DEFS_PREFIX + subtype_of[name]})
                            continue
                    parts.append(self._translate(part))
                out["allOf"] = parts
            elif key == "oneOf":
                # Flink's generated oneOf lists open object schemas without `required`, so any
                # object matches several branches and JSON Schema's exactly-one would reject
                # every body; treat it as anyOf (strict mode then picks the best branch).
                out["anyOf"] = self._translate(value)
            elif key in ("nullable", "discriminator", "example", "description", "xml",
                         "externalDocs", "deprecated", "readOnly", "writeOnly"):
                continue
            elif key in ("properties",):
                out[key] = {k: self._translate(v) for k, v in value.items()}
            elif key in ("items", "additionalProperties", "not"):
                out[key] = self._translate(value)
            elif key in ("anyOf",):
                out[key] = self._translate(value)
            else:
                out[key] = copy.deepcopy(value)
        if s.get("nullable") is True:
            if "type" in out:
                types = out["type"] if isinstance(out["type"], list) else [out["type"]]
                out["type"] = types + ["null"]
            if "enum" in out:
                out["enum"] = list(out["enum"]) + [None]
            if "$ref" in out:
                out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
        return out

    @staticmethod
    def _make_format_checker():
        checker = jsonschema.FormatChecker(formats=())

        def integer_format(name):
            lo, hi = _INT_RANGES[name]

            def check(value):
                if isinstance(value, bool):
                    raise ValueError(f"{value!r} is a boolean, not an {name}")
                if isinstance(value, float):
                    raise ValueError(f"{value!r} is not an {name}: a JSON integer has no "
                                     f"fraction or exponent")
                if isinstance(value, int) and not lo <= value <= hi:
                    raise ValueError(f"{value} is out of the {name} range")
                return True
            return check

        for name in _INT_RANGES:
            checker.checks(name, raises=ValueError)(integer_format(name))

        @checker.checks("double", raises=ValueError)
        def check_double(value):
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{value!r} is not a finite number")
            return True

        return checker

    def _describe_error(self, error, allow, prefix=()):
        path = list(prefix) + list(error.absolute_path)
        if error.instance is None and allow.allows(path):
            return []
        if error.validator == "format":
            return [f"{format_path(path)}: {error.cause or error.message}"]
        if error.validator in ("anyOf", "oneOf") and error.context:
            # The branch errors that got furthest explain it best.
            best = jsonschema.exceptions.best_match(error.context)
            inner = self._describe_error(best, allow, prefix)
            return inner or [f"{format_path(path)}: {error.message}"]
        if error.validator == "required":
            missing = re.findall(r"'([^']*)' is a required property", error.message)
            out = []
            for name in missing or [None]:
                p = path + ([name] if name is not None else [])
                if name is not None and allow.allows(p):
                    continue
                out.append(f"{format_path(p)}: missing (required)" if name is not None
                           else f"{format_path(path)}: {error.message}")
            return out
        return [f"{format_path(path)}: {error.message}"]

    # ---- internals: strict mode ----

    def _resolve(self, s):
        """Follows $ref chains; returns (schema, name of the last $defs entry or None)."""
        name = None
        seen = 0
        while isinstance(s, dict) and "$ref" in s and len(s) == 1:
            name = s["$ref"][len(_DEFS_PREFIX):]
            s = self.defs[name]
            seen += 1
            if seen > 100:
                raise ValueError(f"$ref cycle at {name}")
        return s, name

    def _facets(self, s, name, out=None, depth=0):
        """Merges a schema with its $ref / allOf parts: properties (name -> (schema, owner)),
        additionalProperties, items, anyOf groups and discriminators."""
        if out is None:
            out = {"properties": {}, "additional": [], "items": [], "anyOf": [], "disc": []}
        if depth > 50:
            return out
        s, ref_name = self._resolve(s)
        name = ref_name or name
        if not isinstance(s, dict):
            return out
        for prop, sub in (s.get("properties") or {}).items():
            out["properties"].setdefault(prop, (sub, name))
        if isinstance(s.get("additionalProperties"), dict):
            out["additional"].append(s["additionalProperties"])
        if isinstance(s.get("items"), dict):
            out["items"].append(s["items"])
        if "anyOf" in s:
            out["anyOf"].append(s["anyOf"])
        if "x-discriminator" in s:
            out["disc"].append(s["x-discriminator"])
        if "$ref" in s:
            self._facets({"$ref": s["$ref"]}, name, out, depth + 1)
        for part in s.get("allOf") or []:
            self._facets(part, name, out, depth + 1)
        return out

    def _is_valid(self, instance, schema):
        root = dict(schema)
        root["$defs"] = self.defs
        return jsonschema.Draft202012Validator(
            root, format_checker=self._format_checker).is_valid(instance)

    def _strict(self, inst, schema, path, errors, allow, name, require=True):
        facets = self._facets(schema, name)
        _, own_name = self._resolve(schema)
        name = own_name or name
        # Discriminated subtype: strict against the subtype the discriminator names.
        for disc in facets["disc"]:
            if isinstance(inst, dict):
                target = disc["mapping"].get(inst.get(disc["property"]))
                if target is not None:
                    self._strict(inst, target, path, errors, allow, name, require)
                    return
        # oneOf / anyOf: the branch the body fits best (most of its declared properties
        # present; a valid one on a tie) must hold on its own, and strictly.
        for branches in facets["anyOf"]:
            best = max(branches, key=lambda b: (self._overlap(inst, b), self._is_valid(inst, b)))
            errors.extend(self._schema_errors(inst, best, path, allow))
            self._strict(inst, best, path, errors, allow, name, require)
        if isinstance(inst, dict):
            declared = facets["properties"]
            for prop, (sub, owner) in declared.items():
                p = path + [prop]
                if prop not in inst:
                    if require and not allow.allows(p):
                        errors.append(f"{format_path(p)}: missing (declared by "
                                      f"{owner or 'the response schema'})")
                    continue
                if inst[prop] is None:
                    continue  # null: the type check reports it unless the path is allowed
                self._strict(inst[prop], sub, p, errors, allow, owner, require)
            for add in facets["additional"]:
                for key, value in inst.items():
                    if key not in declared and value is not None:
                        self._strict(value, add, path + [key], errors, allow, name, require)
        elif isinstance(inst, list):
            for item_schema in facets["items"]:
                for i, value in enumerate(inst):
                    if value is not None:
                        self._strict(value, item_schema, path + [i], errors, allow, name, require)

    def _overlap(self, inst, schema):
        if not isinstance(inst, dict):
            return 0
        return sum(1 for k in self._facets(schema, None)["properties"] if k in inst)
