"""Result records and the store: keys, JSON, atomic writes."""

import json
import math

import numpy as np
import pytest

from disbench.results import SCHEMA_VERSION, Store, StoreError, make_record, record_key
from disbench.results.record import canonical_json

MODEL = {"spec": "model.pt", "sha256": "ab" * 32, "options": {"input_layout": "nchw"}}
DATASET = {"name": "toy", "fingerprint": "cd" * 32, "factor_sizes": [4, 5]}


def record(**overrides):
    fields = dict(
        model=MODEL,
        dataset=DATASET,
        metric="mig",
        params={"num_bins": 20, "num_train": 10_000},
        seed=0,
        scores={"mig": np.float64(0.25)},
        arrays={"mi_matrix": np.array([[0.5, np.nan], [0.1, 0.2]])},
        notes=("factor 1 skipped",),
        timings={"compute": 0.1},
    )
    return make_record(**{**fields, **overrides})


def test_the_key_depends_on_model_dataset_metric_params_and_seed_only():
    base = dict(model=MODEL, dataset=DATASET, metric="mig", params={"num_bins": 20}, seed=0)
    key = record_key(**base)
    assert key == record_key(**{**base, "params": {"num_bins": 20}})
    changed = [
        {"model": {**MODEL, "sha256": "ef" * 32}},
        {"model": {**MODEL, "options": {"input_layout": "nhwc"}}},
        {"dataset": {**DATASET, "fingerprint": "00" * 32}},
        {"metric": "dci"},
        {"metric_version": 2},
        {"params": {"num_bins": 10}},
        {"seed": 1},
    ]
    keys = {record_key(**{**base, **change}) for change in changed}
    assert key not in keys and len(keys) == len(changed)
    assert record(timings={"compute": 9.0})["key"] == record()["key"]


def test_a_record_is_plain_json_with_nan_as_null():
    rec = record()
    text = json.dumps(rec, allow_nan=False)
    back = json.loads(text)
    assert back["status"] == "ok" and back["schema_version"] == SCHEMA_VERSION
    assert back["scores"] == {"mig": 0.25}
    assert back["arrays"]["mi_matrix"] == [[0.5, None], [0.1, 0.2]]
    assert back["notes"] == ["factor 1 skipped"]
    assert set(back["environment"]["packages"]) >= {"torch", "numpy", "scikit-learn"}
    assert canonical_json({"b": 1, "a": math.inf}) == '{"a":null,"b":1}'


def test_an_error_record_has_the_message_and_no_scores():
    rec = record(error="the encoder failed on a batch")
    assert rec["status"] == "error" and rec["error"] == "the encoder failed on a batch"
    assert rec["scores"] == {} and rec["arrays"] == {}


def test_the_store_writes_atomically_reads_back_and_lists(tmp_path):
    store = Store(tmp_path / "store")
    assert store.read("0" * 64) is None and list(store.records()) == []
    rec = record()
    path = store.write(rec)
    assert path.name == f"{rec['key']}.json"
    assert store.read(rec["key"]) == rec and store.has_ok(rec["key"])
    assert [p.name for p in (tmp_path / "store").iterdir()] == [path.name]
    failed = record(seed=1, error="boom")
    store.write(failed)
    assert not store.has_ok(failed["key"])
    assert sorted(r["seed"] for r in store.records()) == [0, 1]


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    store = Store(tmp_path)
    rec = record()
    store.path(rec["key"]).mkdir()  # the target is a folder: os.replace must fail
    with pytest.raises(StoreError, match="could not write the record"):
        store.write(rec)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{rec['key']}.json"]


def test_unreadable_and_foreign_files_are_named(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(StoreError, match=r"broken\.json: unreadable"):
        list(Store(tmp_path).records())
    (tmp_path / "broken.json").write_text(json.dumps({"key": "x", "schema_version": 99}))
    with pytest.raises(StoreError, match="upgrade disbench"):
        list(Store(tmp_path).records())
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="is a file"):
        Store(tmp_path / "file")


_WRITER = """
import sys
import numpy as np
from disbench.results import Store, make_record

store, writer, count = Store(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for i in range(count):
    shared = i % 2 == 0  # even records: one key for every writer; odd: this writer's own
    store.write(make_record(
        model={"spec": "m.pt", "sha256": "ab" * 32},
        dataset={"name": "toy", "fingerprint": "cd" * 32},
        metric="mig",
        params={"i": i} if shared else {"i": i, "writer": writer},
        seed=0,
        scores={"mig": float(writer)},
        arrays={"noise": np.random.default_rng(writer).random(2000)},
    ))
"""


def _run_writers(root, writers, count):
    import subprocess
    import sys

    processes = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(root), str(w), str(count)])
        for w in range(writers)
    ]
    return [process.wait(timeout=120) for process in processes]


def test_concurrent_writers_lose_nothing(tmp_path):
    writers, count = 4, 40
    assert _run_writers(tmp_path, writers, count) == [0] * writers
    store = Store(tmp_path)
    records = list(store.records())
    # 20 shared keys (one winner each) + 20 own keys per writer, every file complete
    assert len(records) == count // 2 + writers * count // 2
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]
    shared = [r for r in records if "writer" not in r["metric"]["params"]]
    assert len(shared) == count // 2
    assert all(r["scores"]["mig"] in range(writers) for r in shared)
    own = [r for r in records if "writer" in r["metric"]["params"]]
    assert all(r["scores"]["mig"] == r["metric"]["params"]["writer"] for r in own)


def test_a_killed_writer_leaves_no_partial_record(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    import warnings

    from disbench.results.frame import load

    # Large records (several MB each) so that the kill lands mid-write.
    script = _WRITER.replace("random(2000)", "random(300_000)")
    process = subprocess.Popen([sys.executable, "-c", script, str(tmp_path), "0", "1000"])
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("*.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written = list(tmp_path.glob("*.json"))
    assert len(written) >= 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a partial record would be a SkippedRecordWarning
        frame = load(tmp_path)
    assert len(frame) == len(written)
    for path in written:
        assert len(Store.load_file(path)["arrays"]["noise"]) == 300_000
