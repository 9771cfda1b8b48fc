"""SWE-bench instances from a file: JSON (a list), JSON lines, or parquet, as exported from
the dataset (`load_dataset(...).to_json(...)` writes JSON lines; `.to_parquet(...)`).

Beyond the dataset's own fields, an instance may name `test_cmd` and `log_parser` (a parser
of the swebench package, e.g. `parse_log_pytest`) and `image`, for repositories the swebench
package does not know (like the tests' synthetic one).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from dgm.evals.base import TaskFormatError

REQUIRED = ("instance_id", "repo", "base_commit", "problem_statement", "test_patch", "FAIL_TO_PASS", "PASS_TO_PASS")
OPTIONAL_TEXT = ("patch", "version", "test_cmd", "log_parser", "image", "environment_setup_commit", "hints_text")


class SweBenchFormatError(TaskFormatError):
    """A SWE-bench file or instance that cannot be used; the message names which and why."""


@dataclass(frozen=True)
class Instance:
    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    test_patch: str
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    version: str = ""
    patch: str = ""
    """The gold patch: never shown to the agent, kept for checks of the set-up."""
    test_cmd: str = ""
    log_parser: str = ""
    image: str = ""
    record: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The instance as loaded (lists decoded), for the swebench package's test specification."""


DATASET_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w.-]+)?$")
"""`owner/name` or `owner/name@split` of a dataset on the Hugging Face hub (needs internet)."""


def load_instances(path: Path) -> list[Instance]:
    """Instances from a file, or, when no such file exists and the argument reads as a
    dataset name (`princeton-nlp/SWE-bench_Verified@test`), from the hub.

    Raises: SweBenchFormatError for a missing, unreadable or garbled file or instance, or a
    dataset that cannot be loaded.
    """
    path = Path(path)
    if not path.is_file() and path.suffix not in (".json", ".jsonl", ".parquet") and DATASET_NAME.match(str(path)):
        return _checked(_dataset_records(str(path)), str(path))
    if not path.is_file():
        raise SweBenchFormatError(f"{path}: no such file (export instances first: see the README, SWE-bench)")
    return _checked(_read_records(path), str(path))


def _dataset_records(name: str) -> list[Any]:
    repo, _, split = name.partition("@")
    try:
        from datasets import load_dataset
    except ImportError:
        raise SweBenchFormatError(f"{name}: loading a dataset by name needs the datasets package (pip install 'dgm[swebench]')") from None
    hub_log = logging.getLogger("huggingface_hub")
    level = hub_log.level
    hub_log.setLevel(logging.ERROR)  # its retries print a warning each; the error below says it once
    try:
        return list(load_dataset(repo, split=split or "test"))
    except (OSError, ValueError) as exc:  # offline, unknown dataset or split
        text = str(exc).strip().splitlines()
        raise SweBenchFormatError(f"{name}: cannot load the dataset ({type(exc).__name__}: {text[0][:200] if text else ''})") from None
    finally:
        hub_log.setLevel(level)


def _checked(records: list[Any], path: str) -> list[Instance]:
    if not records:
        raise SweBenchFormatError(f"{path}: holds no instances")
    instances, seen = [], set()
    for n, record in enumerate(records, 1):
        instance = _instance(record, f"{path}: instance {n}")
        if instance.instance_id in seen:
            raise SweBenchFormatError(f"{path}: instance {instance.instance_id} appears twice")
        seen.add(instance.instance_id)
        instances.append(instance)
    return instances


def _read_records(path: Path) -> list[Any]:
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise SweBenchFormatError(f"{path}: reading parquet needs pyarrow (pip install 'dgm[swebench]')") from None
        try:
            return pq.read_table(path).to_pylist()
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise SweBenchFormatError(f"{path}: not a readable parquet file ({type(exc).__name__})") from None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SweBenchFormatError(f"{path}: cannot read ({type(exc).__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return [data]
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SweBenchFormatError(f"{path}: line {n} is not JSON ({exc.msg})") from None
    return records


def _tests(value: Any, where: str, key: str) -> tuple[str, ...]:
    """The dataset stores the test lists as JSON-encoded strings; exports may decode them."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SweBenchFormatError(f"{where}: {key} is not a JSON list") from None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, str) for t in value):
        raise SweBenchFormatError(f"{where}: {key} must be a list of test names")
    return tuple(value)


def _instance(record: Any, where: str) -> Instance:
    if not isinstance(record, dict):
        raise SweBenchFormatError(f"{where}: not an object")
    missing = [k for k in REQUIRED if k not in record or record[k] is None]
    if missing:
        raise SweBenchFormatError(f"{where}: missing {', '.join(missing)}")
    where = f"{where.split(':')[0]}: {record['instance_id']}"
    for key in ("instance_id", "repo", "base_commit", "problem_statement", "test_patch"):
        if not isinstance(record[key], str) or not record[key].strip():
            raise SweBenchFormatError(f"{where}: {key} must be a non-empty string")
    for key in OPTIONAL_TEXT:
        if record.get(key) is not None and not isinstance(record[key], str):
            raise SweBenchFormatError(f"{where}: {key} must be a string")
    f2p = _tests(record["FAIL_TO_PASS"], where, "FAIL_TO_PASS")
    p2p = _tests(record["PASS_TO_PASS"], where, "PASS_TO_PASS")
    if not f2p:
        raise SweBenchFormatError(f"{where}: FAIL_TO_PASS is empty (nothing would show a fix)")
    if "diff --git " not in record["test_patch"]:
        raise SweBenchFormatError(f"{where}: test_patch is not a git diff")
    text = {k: record.get(k) or "" for k in OPTIONAL_TEXT}
    decoded = {**record, "FAIL_TO_PASS": list(f2p), "PASS_TO_PASS": list(p2p)}
    return Instance(
        record["instance_id"], record["repo"], record["base_commit"], record["problem_statement"],
        record["test_patch"], f2p, p2p, version=text["version"], patch=text["patch"],
        test_cmd=text["test_cmd"], log_parser=text["log_parser"], image=text["image"], record=decoded,
    )  # fmt: skip
