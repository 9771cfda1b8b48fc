# Shared by the grading parent and its children (prepended to both; standard library only).
# Values cross the process boundary as tagged JSON, so whatever the candidate returns arrives
# on the trusted side as plain data: an object whose __eq__ always says True cannot cross.
# JSON goes through the C scanner of `_json` directly: `import json` pulls in `re` and costs
# more than the rest of a grading item's start-up.
import _json as _cjson


class _ScanContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float
    memo = {}


_scan = _cjson.make_scanner(_ScanContext())


def _loads(text):
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    text = text.strip()
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise ValueError("malformed JSON")
    if end != len(text):
        raise ValueError("trailing data after JSON")
    return value


def _dumps(x):
    if x is None:
        return "null"
    if x is True:
        return "true"
    if x is False:
        return "false"
    t = type(x)
    if t is str:
        return _cjson.encode_basestring_ascii(x)
    if t is int:
        return int.__repr__(x)
    if t is float:
        return float.__repr__(x)
    if t is list or t is tuple:
        return "[" + ",".join([_dumps(v) for v in x]) + "]"
    if t is dict:
        return "{" + ",".join([_cjson.encode_basestring_ascii(str(k)) + ":" + _dumps(v) for k, v in x.items()]) + "}"
    raise ValueError("cannot encode " + t.__name__)


class _json:  # the two functions the harness uses, under the usual names
    loads = staticmethod(_loads)
    dumps = staticmethod(_dumps)

MAX_LINE = 8 * 1024 * 1024


class WireError(Exception):
    pass


def encode(x, depth=0):
    if depth > 100:
        raise WireError("value nested too deeply")
    t = type(x)
    if x is None or t is bool or t is str:
        return x
    if t is int:
        return {"i": str(x)}
    if t is float:
        return {"f": repr(x)}
    if t is list:
        return {"l": [encode(v, depth + 1) for v in x]}
    if t is tuple:
        return {"t": [encode(v, depth + 1) for v in x]}
    if t is dict:
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in x.items()]}
    if t is set:
        return {"s": [encode(v, depth + 1) for v in x]}
    if t is frozenset:
        return {"fs": [encode(v, depth + 1) for v in x]}
    raise WireError("unsupported value of type " + t.__name__)


def decode(x):
    if x is None or type(x) in (bool, str):
        return x
    if type(x) is dict and len(x) == 1:
        (tag, v), = x.items()
        if tag == "i":
            return int(v)
        if tag == "f":
            return float(v)
        if tag == "l":
            return [decode(i) for i in v]
        if tag == "t":
            return tuple(decode(i) for i in v)
        if tag == "d":
            return {decode(k): decode(i) for k, i in v}
        if tag == "s":
            return {decode(i) for i in v}
        if tag == "fs":
            return frozenset(decode(i) for i in v)
    raise WireError("malformed value")


def describe(exc):
    try:
        return (type(exc).__name__ + ": " + str(exc))[:500]
    except BaseException:
        return type(exc).__name__
