"""With a data folder, the safety net is trained in a short-lived process of its own: the bot reads the same
weights, to the bit, as training in its own process gives, and trains itself when that process fails."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import bot.safety
from bot.content import KnowledgeError
from bot.kept import read_arrays
from bot.safety import SafetyNet, SafetyRules, forget_recent_nets, gram_codes, load_safety

REPO = Path(__file__).parent.parent
ORDINARY = ["怎么还款", "利息怎么算", "how do i repay my loan", "催收打电话给我妈妈合法吗", "可以协商分期吗"] * 6


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    # The bundled rules, and a small examples file: training takes a moment, not ten seconds.
    safety = tmp_path / "safety"
    safety.mkdir()
    shutil.copy(REPO / "safety" / "signals.yaml", safety / "signals.yaml")
    (safety / "examples.yaml").write_text(_examples_text(), encoding="utf-8")
    return safety


# Writers worried about someone else: under `crisis` like any clear risk, and under `someone_else` too.
SOMEONE_ELSE = [
    "我老公说他不想活了",
    "我妈把药都攒起来了",
    "室友坐在天台边上不肯下来",
    "my brother said bye",
    "朋友发了遗书",
]


def _examples_text(someone_else: bool = True) -> str:
    act = ["我刚吞了一整瓶药", "炭已经点上了", "现在站在楼顶边上", "i took all my pills", "手腕割了好深"]
    crisis = ["我不想活了", "今晚就结束一切", "信已经写好了", "i want to end it all", "以后不用等我了", *SOMEONE_ELSE]
    concern = ["好想消失", "活着好累", "我是家里的负担", "i wish i could disappear", "睡着就不要醒来"]
    safe = ["累死了", "笑死我了", "催收说要弄死我", "跳楼价大甩卖", "this job is killing me lol"]
    lines = ["threshold: 0.8"]
    if someone_else:
        lines += ["someone_else:", *(f"  - {t}{n}" for n in range(5) for t in SOMEONE_ELSE)]
    lines += ["act:", *(f"  - {t}{n}" for n in range(5) for t in act)]
    lines += ["crisis:", *(f"  - {t}{n}" for n in range(5) for t in crisis)]
    lines += ["concern:", *(f"  - {t}{n}" for n in range(5) for t in concern)]
    lines += ["safe:", *(f"  - {t}{n}" for n in range(5) for t in safe)]
    return "\n".join(lines) + "\n"


def _same(a: SafetyNet, b: SafetyNet) -> bool:
    return (
        np.array_equal(a.grams, b.grams)
        and dict(a.others) == dict(b.others)
        and a.weights.tobytes() == b.weights.tobytes()
        and a.bias == b.bias
    )


def test_a_first_start_trains_in_a_child_and_gets_the_weights_of_training_here(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    forget_recent_nets()
    trained = load_safety(folder, [], ORDINARY)  # no data folder: trained in this process
    here, here_urgent, here_acts, here_someone = trained.net, trained.urgent, trained.acts, trained.someone
    forget_recent_nets()
    with caplog.at_level(logging.WARNING, logger="bot.safety"):
        loaded = load_safety(folder, [], ORDINARY, cache_dir=tmp_path / "cache")
    apart, apart_urgent, apart_acts, apart_someone = loaded.net, loaded.urgent, loaded.acts, loaded.someone
    assert not caplog.records  # the children trained: no fallback
    assert here is not None and apart is not None
    assert _same(here, apart)
    # The second net (act and crisis against concern and safe), the third (act against the rest) and the fourth
    # (someone else against the writer) are trained apart too, at the same time, each kept in a file of its own.
    assert here_urgent is not None and apart_urgent is not None and here_acts is not None and apart_acts is not None
    assert here_someone is not None and apart_someone is not None
    assert here_someone.weights.dtype == np.float32  # kept in 32 bits (`SOMEONE_SINGLE`), by either process
    assert _same(here_urgent, apart_urgent) and _same(here_acts, apart_acts) and _same(here_someone, apart_someone)
    assert not _same(here, here_urgent) and not _same(here_urgent, here_acts) and not _same(here_acts, here_someone)
    assert len(list((tmp_path / "cache").glob("safety-urgent-*.npz"))) == 1
    assert len(list((tmp_path / "cache").glob("safety-act-*.npz"))) == 1
    (someone,) = (tmp_path / "cache").glob("safety-someone-*.npz")
    assert 0 < float(read_arrays(someone)["training_peak_mb"]) < 10_000
    (kept,) = (tmp_path / "cache").glob("safety-net-*.npz")
    assert 0 < float(read_arrays(kept)["training_peak_mb"]) < 10_000  # the child's own high-water mark
    assert not list((tmp_path / "cache").glob("safety-training-*"))  # its input is gone
    texts = ["我不想活了", "今天天气不错", "药已经准备好了吗"]
    assert [apart.probability(t) for t in texts] == [here.probability(t) for t in texts]


def test_a_failing_training_process_costs_nothing_but_time(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    forget_recent_nets()
    here = load_safety(folder, [], ORDINARY).net
    forget_recent_nets()
    monkeypatch.setattr(bot.safety, "TRAINER", (sys.executable, "-c", "import sys; sys.exit('out of memory')"))
    with caplog.at_level(logging.WARNING, logger="bot.safety"):
        fallen_back = load_safety(folder, [], ORDINARY, cache_dir=tmp_path / "cache").net
    assert here is not None and fallen_back is not None
    assert _same(here, fallen_back)
    assert any("training process failed" in record.getMessage() for record in caplog.records)
    assert list((tmp_path / "cache").glob("safety-net-*.npz"))  # kept by this process instead


def _not_parsed(*args: object) -> None:
    raise AssertionError("the examples file was parsed although its text was kept")


def test_a_start_with_the_same_examples_text_reads_the_kept_lists_instead_of_parsing_the_file(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    errors: list[KnowledgeError] = []
    first = load_safety(folder, errors, ORDINARY, cache_dir=cache)
    assert errors == []
    (kept,) = cache.glob("safety-examples-*.npz")
    forget_recent_nets()  # a new process
    with monkeypatch.context() as patched:
        patched.setattr(bot.safety, "parse_yaml", _not_parsed, raising=True)
        # Only the examples file is read through bot.safety.parse_yaml; signals.yaml goes through read_yaml.
        second = load_safety(folder, errors, ORDINARY, cache_dir=cache)
    assert errors == []
    assert first.net is not None and second.net is not None and _same(first.net, second.net)
    for text in ["我不想活了", "今晚就结束一切", "累死了", "怎么还款"]:
        assert second.assess(text) == first.assess(text)

    # A changed example: the file is read again and its lists replace the old ones.
    examples = folder / "examples.yaml"
    examples.write_text(examples.read_text(encoding="utf-8") + "  - 今天天气不错\n", encoding="utf-8")
    forget_recent_nets()
    changed = load_safety(folder, errors, ORDINARY, cache_dir=cache)
    (again,) = cache.glob("safety-examples-*.npz")
    assert again != kept and errors == [] and changed.net is not None and not _same(changed.net, first.net)


def test_an_examples_file_with_a_problem_is_never_kept_so_every_start_reports_it(folder: Path, tmp_path: Path) -> None:
    examples = folder / "examples.yaml"
    examples.write_text(examples.read_text(encoding="utf-8") + "colour: blue\n", encoding="utf-8")
    cache = tmp_path / "cache"
    for _ in range(2):
        forget_recent_nets()
        errors: list[KnowledgeError] = []
        rules = load_safety(folder, errors, ORDINARY, cache_dir=cache)
        line = len(examples.read_text(encoding="utf-8").splitlines())
        assert [str(error) for error in errors] == [
            f"{examples}:{line}: unknown key `colour`; use threshold, act, crisis, concern, safe and someone_else"
        ]
        assert rules.net is not None  # the lists it could read still teach the net
    assert not list(cache.glob("safety-examples-*.npz"))


@pytest.mark.parametrize("damage", [b"", b"not a numpy file", "emptied lists"])
def test_a_damaged_kept_list_file_only_means_parsing_the_file_again(
    folder: Path, tmp_path: Path, damage: bytes | str, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    first = load_safety(folder, [], ORDINARY, cache_dir=cache)
    (kept,) = cache.glob("safety-examples-*.npz")
    if isinstance(damage, bytes):
        kept.write_bytes(damage)
    else:  # readable, but not what reading the file gives: an empty text in a list
        arrays = dict(read_arrays(kept))
        arrays["safe_lengths"] = np.zeros_like(arrays["safe_lengths"])
        arrays["safe_blob"] = np.zeros(0, dtype=np.uint8)
        np.savez(kept, allow_pickle=False, **arrays)
    forget_recent_nets()
    with caplog.at_level(logging.WARNING, logger="bot.safety"):
        again = load_safety(folder, [], ORDINARY, cache_dir=cache)
    assert any("kept lists" in record.getMessage() for record in caplog.records)
    assert first.net is not None and again.net is not None and _same(first.net, again.net)
    assert read_arrays(kept)["safe_lengths"].tolist() == [len(text) for text in _safe_examples(folder)]


def _safe_examples(folder: Path) -> list[str]:
    import yaml

    return [str(text) for text in yaml.safe_load((folder / "examples.yaml").read_text(encoding="utf-8"))["safe"]]


def test_a_data_folder_that_cannot_be_written_only_means_training_here(folder: Path, tmp_path: Path) -> None:
    # The cache folder's place is taken by a file: nothing can be written or removed there, not even the training
    # input that was never written; the nets are trained in this process instead and the start goes on.
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    forget_recent_nets()
    here = load_safety(folder, [], ORDINARY).net
    forget_recent_nets()
    errors: list[KnowledgeError] = []
    rules = load_safety(folder, errors, ORDINARY, cache_dir=blocked / "cache")
    assert errors == [] and here is not None and rules.net is not None and _same(here, rules.net)
    assert rules.assess("我不想活了").level == "crisis"


def test_a_start_with_kept_nets_reads_only_the_sizes_of_the_kept_lists_and_their_texts_when_it_trains(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The texts of the kept lists (58,000 in the bundle, about 40 MB once read) are read only to train a net.
    Here they are damaged while their lengths are not: a start with its nets kept never notices; a start that must
    train reads the examples file instead and learns the same weights."""
    cache = tmp_path / "cache"
    first = load_safety(folder, [], ORDINARY, cache_dir=cache)
    (kept,) = cache.glob("safety-examples-*.npz")
    arrays = dict(read_arrays(kept))
    arrays["crisis_blob"] = np.full_like(arrays["crisis_blob"], 0xFF)  # not UTF-8 at all
    np.savez(kept, allow_pickle=False, **arrays)
    forget_recent_nets()
    with caplog.at_level(logging.WARNING, logger="bot.safety"):
        kept_nets = load_safety(folder, [], ORDINARY, cache_dir=cache)
    assert not caplog.records
    assert first.net is not None and kept_nets.net is not None and _same(first.net, kept_nets.net)

    for net in cache.glob("safety-urgent-*.npz"):
        net.unlink()
    forget_recent_nets()
    with caplog.at_level(logging.WARNING, logger="bot.safety"):
        retrained = load_safety(folder, [], ORDINARY, cache_dir=cache)
    assert any("kept lists could not be read" in record.getMessage() for record in caplog.records)
    assert first.urgent is not None and retrained.urgent is not None and _same(first.urgent, retrained.urgent)


def test_the_urgent_act_and_someone_nets_share_one_vocabulary_read_from_the_data_folder(
    folder: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    load_safety(folder, [], ORDINARY, cache_dir=cache)
    forget_recent_nets()
    again = load_safety(folder, [], ORDINARY, cache_dir=cache)
    assert again.net is not None and again.urgent is not None and again.acts is not None
    assert again.urgent.grams is again.acts.grams and again.urgent.others is again.acts.others
    assert not np.array_equal(again.urgent.weights, again.acts.weights)
    # The fourth learns from the messages at risk alone, and holds the features only safe ones have unlearnt (weight
    # 0): the same vocabulary, read once.
    someone = again.someone
    assert someone is not None and someone.grams is again.urgent.grams and someone.others is again.urgent.others
    lists = yaml.safe_load((folder / "examples.yaml").read_text(encoding="utf-8"))
    at_risk = {code for name in ("act", "crisis", "concern") for text in lists[name] for code in _grams(again, text)}
    only_safe = [place for place, code in enumerate(someone.grams.tolist()) if code not in at_risk]
    assert only_safe and all(someone.weights[place] == 0.0 for place in only_safe)
    assert any(again.urgent.weights[place] != 0.0 for place in only_safe)


def _grams(rules: SafetyRules, text: str) -> list[int]:
    return gram_codes(rules.canonical(str(text))).tolist()


def test_without_a_someone_else_list_there_is_no_fourth_net_and_the_rest_works_as_before(
    folder: Path, tmp_path: Path
) -> None:
    (folder / "examples.yaml").write_text(_examples_text(someone_else=False), encoding="utf-8")
    cache = tmp_path / "cache"
    errors: list[KnowledgeError] = []
    forget_recent_nets()
    rules = load_safety(folder, errors, ORDINARY, cache_dir=cache)
    assert errors == [] and rules.someone is None
    assert rules.net is not None and rules.urgent is not None and rules.acts is not None
    assert not list(cache.glob("safety-someone-*.npz"))
    husband = rules.assess("我老公说今晚要去跳河，现在电话打不通")  # an `other` rule still marks it
    assert husband.level == "crisis" and husband.other
    forget_recent_nets()
    again = load_safety(folder, errors, ORDINARY, cache_dir=cache)  # from the kept lists, one of them empty
    assert errors == [] and again.someone is None and again.net is not None and _same(again.net, rules.net)


def test_a_malformed_someone_else_list_is_reported_at_its_line(folder: Path) -> None:
    examples = folder / "examples.yaml"
    text = examples.read_text(encoding="utf-8")
    lines = text.splitlines()
    stray = lines.index("someone_else:") + 2  # the second item (1-based line numbers)
    lines[stray - 1] = "  - 邻居说他不想活了"  # in no list at risk
    examples.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors: list[KnowledgeError] = []
    rules = load_safety(folder, errors, ORDINARY)
    assert [(error.line, "`someone_else`" in error.message and "`crisis`" in error.message) for error in errors] == [
        (stray, True)
    ]
    assert rules.someone is not None  # the other items still teach it

    not_a_list = _examples_text(someone_else=False).replace("\n", "\nsomeone_else: 我老公说他不想活了0\n", 1)
    examples.write_text(not_a_list, encoding="utf-8")
    errors = []
    rules = load_safety(folder, errors, ORDINARY)
    messages = [str(error) for error in errors]
    assert messages == [f"{examples}:2: `someone_else` must be a list (lines starting with -)"]
    assert rules.someone is None and rules.net is not None  # no examples: no fourth net; the others as before
