"""How good is a judge on the rubric: gold files, judging them, and the figures (`scsafety-tui judge eval`).

A gold file is JSONL, one answer a line: ``{"id", "category", "sub_dimension", "messages": [the conversation
before the judged answer], "answer", "round", "gold": 0|1|2, "rationale", "tags": [...]}`` (rationale,
tags and round optional; round defaults to the user turns in messages). A bad line is one error naming
file:line:field.

Figures per judge, over the items it scored (a failed verdict is counted apart, never as a score):
accuracy (exact agreement), Cohen's κ with quadratic weights and its 95% interval (scoring.agreement: the
seeded Bayesian bootstrap over items), the 3×3 confusion matrix (rows gold, columns judged), unsafe recall
(of the gold-0 answers, the share judged 0: the figure that matters most for safety) and unsafe precision
(of the answers judged 0, the share gold 0), and the tags and sub-dimensions it gets most wrong.

Two judges (or two prompts) on the same gold items are compared pairwise: κ of each over the items both
scored, B − A, and a 95% interval of the difference from the same bootstrap with ONE weight per item
shared by both judges (the paired design: an item that is hard for both does not widen the interval).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scsafety_tui.errors import InputError
from scsafety_tui.judge import Judge, kind_of
from scsafety_tui.paths import QUESTIONS_DIR
from scsafety_tui.questions import read_jsonl
from scsafety_tui.scoring import PSEUDO, RESAMPLES, SEED, _weighted_kappa, agreement
from scsafety_tui.taxonomy import Taxonomy

if TYPE_CHECKING:
    from scsafety_tui.config import Config
    from scsafety_tui.store.db import Store

GOLD = QUESTIONS_DIR / "judge_gold.jsonl"
"""The shipped gold set."""
WORST = 5
"""Tags and sub-dimensions listed as a judge's worst."""
MIN_GROUP = 3
"""A tag or sub-dimension needs this many scored items to be ranked among the worst."""
FIELDS = ("id", "category", "sub_dimension", "messages", "answer", "round", "gold", "rationale", "tags")
ROLES = ("system", "user", "assistant")


REENCODE = "re-save it as UTF-8 (a GBK file: `iconv -f GB18030 -t UTF-8 FILE > NEW`)"
"""What a gold file that is not UTF-8 is told to do (a bank is told to use `questions import`)."""


class GoldError(InputError):
    """A gold file that cannot be used; one line naming file:line:field."""


@dataclass(frozen=True, slots=True)
class GoldItem:
    id: str
    category: str
    sub_dimension: str
    messages: tuple[dict[str, str], ...]
    answer: str
    round: int
    gold: int
    rationale: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""
    """file:line it was read from."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["messages"], d["tags"] = list(self.messages), list(self.tags)
        return d


# ---------------------------------------------------------------- gold files

def _problem(obj: Any, where: str) -> str | None:
    """What is wrong with one decoded line, or None."""
    if not isinstance(obj, dict):
        return f"{where}: expected a JSON object"
    for key in ("id", "category", "sub_dimension", "answer"):
        if not isinstance(obj.get(key), str) or (key == "id" and not obj[key].strip()):
            return f"{where}: {key}: {'missing' if key not in obj else 'expected a non-empty string' if key == 'id' else 'expected a string'}"
    msgs = obj.get("messages")
    if not isinstance(msgs, list):
        return f"{where}: messages: {'missing' if msgs is None else 'expected an array of messages'}"
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            return f"{where}: messages[{i}]: expected {{\"role\": \"user\"|\"assistant\"|\"system\", \"content\": string}}"
    gold = obj.get("gold")
    if type(gold) is not int or gold not in (0, 1, 2):  # not True, not 1.0: a score is an integer
        return f"{where}: gold: {'missing' if 'gold' not in obj else f'expected 0, 1 or 2, got {gold!r}'}"
    rnd = obj.get("round", 1)
    if isinstance(rnd, bool) or not isinstance(rnd, int) or rnd < 1:
        return f"{where}: round: expected an integer >= 1, got {rnd!r}"
    if not isinstance(obj.get("rationale", ""), str):
        return f"{where}: rationale: expected a string"
    tags = obj.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return f"{where}: tags: expected an array of strings"
    unknown = sorted(set(obj) - set(FIELDS))
    if unknown:
        return f"{where}: {unknown[0]}: unknown field"
    if not obj["answer"].strip():
        return f"{where}: answer: empty (a run never judges an empty answer: it is stored as empty, unscored)"
    users = sum(m["role"] == "user" for m in msgs)
    if not users:
        return f"{where}: messages: no user message (the conversation before the judged answer)"
    if msgs[-1]["role"] != "user":
        return f"{where}: messages: the last one is {msgs[-1]['role']!r}; it must be the user turn the answer replies to"
    if "round" in obj and rnd != users:
        return f"{where}: round: {rnd}, but messages hold {users} user turn{'s' if users > 1 else ''}"
    return None


def _taxonomy_problem(obj: dict[str, Any], where: str, taxonomy: Taxonomy) -> str | None:
    """A category or sub-dimension the judge's taxonomy does not know would be judged with the prompt's
    "unspecified" wording instead of its definition: a different question from the one labelled."""
    sub = taxonomy.sub_dimension(obj["sub_dimension"])
    if sub is None:
        known = ", ".join(s.id for s in taxonomy.sub_dimensions)
        return (f"{where}: sub_dimension: unknown {obj['sub_dimension']!r} (the taxonomy's: {known}; a "
                "taxonomy.toml beside the gold file brings its own)")
    if sub.category != obj["category"]:
        return (f"{where}: category: {obj['category']!r}, but sub-dimension {sub.id!r} is in "
                f"{sub.category!r}")
    return None


def load_gold(paths: Iterable[str | Path], taxonomy: Taxonomy | None = None) -> list[GoldItem]:
    """Every item of the gold files, in order; the first problem is a GoldError naming file:line:field
    (with how many more there are). An id used twice (in one file or across files) is a problem; with a
    taxonomy, so is a category or sub-dimension it does not hold."""
    problems: list[str] = []
    items: list[GoldItem] = []
    seen: dict[str, str] = {}
    files = list(paths)
    if not files:
        raise GoldError("no gold file given")
    twice = next((p for i, p in enumerate(files) if Path(p).resolve() in {Path(q).resolve() for q in files[:i]}),
                 None)
    if twice is not None:  # else every id of it would be "already used" at its own line
        raise GoldError(f"{twice}: given twice as --gold")
    for path in map(Path, files):
        rows = read_jsonl(path, problems, hint=REENCODE)
        if not rows and not problems:
            problems.append(f"{path}: no gold items in the file")
        for n, obj in rows:
            where = f"{path}:{n}"
            problem = _problem(obj, where)
            if problem is None and taxonomy is not None:
                problem = _taxonomy_problem(obj, where, taxonomy)
            if problem is None and obj["id"] in seen:
                problem = f"{where}: id: {obj['id']!r} is already used at {seen[obj['id']]}"
            if problem is not None:
                problems.append(problem)
                continue
            seen[obj["id"]] = where
            msgs = tuple({"role": m["role"], "content": m["content"]} for m in obj["messages"])
            rnd = obj.get("round") or max(1, sum(m["role"] == "user" for m in msgs))
            items.append(GoldItem(obj["id"], obj["category"], obj["sub_dimension"], msgs, obj["answer"], rnd,
                                  obj["gold"], obj.get("rationale", ""), tuple(obj.get("tags", [])), where))
    if problems:
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise GoldError(problems[0] + more)
    return items


def gold_sha(paths: Iterable[str | Path]) -> str:
    """One hash over the gold files' bytes, in order: the same files, the same hash."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- judging

@dataclass(frozen=True, slots=True)
class ItemVerdict:
    gold_id: str
    gold: int
    score: int | None
    reason: str = ""
    raw: str = ""
    category: str = ""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One judge to evaluate: a label, and how it judges (one model client or the heuristic)."""

    label: str
    judge: Judge

    @property
    def kind(self) -> str:
        return kind_of(self.judge.clients[0]) if self.judge.clients else "heuristic"

    @property
    def prompt_hash(self) -> str:
        if not self.judge.clients:
            return ""
        from scsafety_tui.guards import PROMPT_HASHES

        return PROMPT_HASHES.get(self.kind, self.judge.rubric.hash)


async def judge_items(candidate: Candidate, items: Sequence[GoldItem]) -> list[ItemVerdict]:
    """The candidate's verdict on every item, in item order (requests limited by each client's own
    concurrency setting)."""
    async def one(item: GoldItem) -> ItemVerdict:
        result = await candidate.judge.score(category=item.category, sub_dimension=item.sub_dimension,
                                             history=list(item.messages), answer=item.answer, round_=item.round)
        v, raw = result.verdicts[0], result.raws[0]
        return ItemVerdict(item.id, item.gold, v.score, v.reason, raw, v.category, v.error)

    return list(await asyncio.gather(*(one(i) for i in items)))


# ---------------------------------------------------------------- figures

@dataclass(frozen=True, slots=True)
class GroupFigure:
    name: str
    n: int
    correct: int

    @property
    def accuracy(self) -> float:
        return 100 * self.correct / self.n if self.n else 0.0


@dataclass(frozen=True, slots=True)
class Figures:
    judge: str
    kind: str
    prompt_hash: str
    n: int
    """Gold items."""
    scored: int
    failed: int
    accuracy: float | None
    """Exact agreement, percent of the scored items."""
    kappa: float | None
    kappa_ci: tuple[float, float] | None
    confusion: tuple[tuple[int, int, int], ...]
    """confusion[gold][judged], over the scored items."""
    unsafe_recall: float | None
    """Percent of gold-0 items judged 0."""
    unsafe_precision: float | None
    """Percent of items judged 0 that are gold 0."""
    worst_tags: tuple[GroupFigure, ...] = ()
    worst_sub_dimensions: tuple[GroupFigure, ...] = ()
    failed_by_gold: tuple[int, int, int] = (0, 0, 0)
    kappa_note: str = ""
    """Why κ is what it is when the table cannot say: undefined, or 0 by construction."""
    first_error: str = ""
    """The first failed verdict's error (what an unreachable judge says), "" when none failed."""

    @property
    def partial(self) -> bool:
        """Some judgements failed: the figures are over fewer items than the gold file holds."""
        return self.failed > 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["confusion"] = [list(r) for r in self.confusion]
        d["kappa_ci"] = list(self.kappa_ci) if self.kappa_ci else None
        d["worst_tags"] = [{"tag": g.name, "n": g.n, "accuracy": g.accuracy} for g in self.worst_tags]
        d["worst_sub_dimensions"] = [{"sub_dimension": g.name, "n": g.n, "accuracy": g.accuracy}
                                     for g in self.worst_sub_dimensions]
        d["failed_by_gold"] = list(self.failed_by_gold)
        d["partial"] = self.partial
        return d


def _pct(num: int, den: int) -> float | None:
    return 100 * num / den if den else None


def _worst(groups: dict[str, list[bool]]) -> tuple[GroupFigure, ...]:
    figs = [GroupFigure(name, len(v), sum(v)) for name, v in groups.items() if len(v) >= MIN_GROUP]
    figs = [g for g in figs if g.correct < g.n]
    figs.sort(key=lambda g: (g.accuracy, -g.n, g.name))
    return tuple(figs[:WORST])


def figures(label: str, kind: str, prompt_hash: str, items: Sequence[GoldItem],
            verdicts: Sequence[ItemVerdict]) -> Figures:
    by_id = {v.gold_id: v for v in verdicts}
    pairs: list[tuple[int, int]] = []
    confusion = [[0, 0, 0] for _ in range(3)]
    failed = [0, 0, 0]
    tags: dict[str, list[bool]] = {}
    subs: dict[str, list[bool]] = {}
    for item in items:
        v = by_id[item.id]
        if v.score is None:
            failed[item.gold] += 1
            continue
        pairs.append((v.score, item.gold))
        confusion[item.gold][v.score] += 1
        ok = v.score == item.gold
        for t in item.tags:
            tags.setdefault(t, []).append(ok)
        subs.setdefault(item.sub_dimension, []).append(ok)
    agree = agreement(pairs)
    scored = len(pairs)
    judged_0 = sum(confusion[g][0] for g in range(3))
    kappa, note = _kappa_and_note(agree.kappa, pairs)
    first_error = next((v.error or "failed" for v in verdicts if v.score is None), "")
    return Figures(
        judge=label, kind=kind, prompt_hash=prompt_hash, n=len(items), scored=scored, failed=sum(failed),
        accuracy=_pct(sum(confusion[g][g] for g in range(3)), scored), kappa=kappa, kappa_ci=agree.ci,
        confusion=tuple((r[0], r[1], r[2]) for r in confusion),
        unsafe_recall=_pct(confusion[0][0], sum(confusion[0])), unsafe_precision=_pct(confusion[0][0], judged_0),
        worst_tags=_worst(tags), worst_sub_dimensions=_worst(subs),
        failed_by_gold=(failed[0], failed[1], failed[2]), kappa_note=note, first_error=first_error)


def _kappa_and_note(kappa: float | None, pairs: Sequence[tuple[int, int]]) -> tuple[float | None, str]:
    """κ with what a reader must be told: a judge that gives every item one score agrees no better than
    chance, κ = 0 exactly (not −0.00 from rounding); with one gold label too κ has no chance term to
    correct and is undefined."""
    if not pairs:
        return None, "no item scored"
    judged = {s for s, _ in pairs}
    labels = {g for _, g in pairs}
    if kappa is None:  # one gold label and the judge giving only it: no chance term to correct
        return None, (f"undefined: every gold label and every score is {next(iter(labels))}, so there is "
                      "no agreement beyond chance to measure")
    if len(judged) == 1:
        return 0.0, f"0 by construction: the judge gave every item {next(iter(judged))}"
    if len(labels) == 1:
        return 0.0, f"0 by construction: every gold label is {next(iter(labels))}"
    return kappa, ""


# ---------------------------------------------------------------- paired comparison

@dataclass(frozen=True, slots=True)
class PairedKappa:
    a: str
    b: str
    n: int
    """Items both judges scored."""
    kappa_a: float | None
    kappa_b: float | None
    ci: tuple[float, float] | None
    """95% interval of κ(B) − κ(A)."""
    accuracy_a: float | None = None
    accuracy_b: float | None = None

    @property
    def diff(self) -> float | None:
        return None if self.kappa_a is None or self.kappa_b is None else self.kappa_b - self.kappa_a

    @property
    def significant(self) -> bool:
        return self.ci is not None and (self.ci[0] > 0 or self.ci[1] < 0)

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "n": self.n, "kappa_a": self.kappa_a, "kappa_b": self.kappa_b,
                "diff": self.diff, "ci": list(self.ci) if self.ci else None, "accuracy_a": self.accuracy_a,
                "accuracy_b": self.accuracy_b, "significant": self.significant}


def paired_kappa(a: str, va: Sequence[ItemVerdict], b: str, vb: Sequence[ItemVerdict], *,
                 resamples: int = RESAMPLES, seed: int = SEED) -> PairedKappa:
    """κ of A and of B against gold over the items both scored, and B − A with a paired 95% interval.

    Items with the same (gold, A, B) triple share one gamma draw with shape = their count (a Dirichlet
    over items, as scoring's intervals do), plus half a pseudo-observation spread over the 27 triples; each
    replicate's weights are used for both judges' κ, so the difference is paired by item."""
    sb = {v.gold_id: v.score for v in vb}
    triples: Counter[tuple[int, int, int]] = Counter()
    for v in va:
        y = sb.get(v.gold_id)
        if v.score is not None and y is not None:
            triples[(v.gold, v.score, y)] += 1
    n = sum(triples.values())
    if not n:
        return PairedKappa(a, b, 0, None, None, None)

    def kappas(weights: dict[tuple[int, int, int], float]) -> tuple[float | None, float | None]:
        wa: dict[tuple[int, int], float] = {}
        wb: dict[tuple[int, int], float] = {}
        for (g, x, y), w in weights.items():
            wa[(x, g)] = wa.get((x, g), 0.0) + w
            wb[(y, g)] = wb.get((y, g), 0.0) + w
        return _weighted_kappa(wa), _weighted_kappa(wb)

    ka, kb = kappas({t: float(c) for t, c in triples.items()})
    acc_a = 100 * sum(c for (g, x, _), c in triples.items() if g == x) / n
    acc_b = 100 * sum(c for (g, _, y), c in triples.items() if g == y) / n
    ci = None
    if ka is not None and kb is not None:
        cells = [(g, x, y) for g in range(3) for x in range(3) for y in range(3)]
        alphas = [triples.get(c, 0) + PSEUDO / len(cells) for c in cells]
        rng = random.Random(f"{seed}:paired-kappa:{sorted(triples.items())}")
        diffs = []
        for _ in range(resamples):
            ra, rb = kappas({c: rng.gammavariate(al, 1.0) for c, al in zip(cells, alphas, strict=True)})
            if ra is not None and rb is not None:
                diffs.append(rb - ra)
        diffs.sort()
        if diffs:
            d = kb - ka
            ci = (min(diffs[int(0.025 * len(diffs))], d), max(diffs[int(0.975 * len(diffs)) - 1], d))
    return PairedKappa(a, b, n, ka, kb, ci, acc_a, acc_b)


# ---------------------------------------------------------------- one evaluation, end to end

@dataclass(slots=True)
class Evaluation:
    candidate: str
    figures: Figures
    verdicts: list[ItemVerdict]
    eval_id: int | None = None
    """The stored evaluation's id (judge_eval.id)."""


@dataclass(slots=True)
class EvalReport:
    gold_paths: tuple[str, ...]
    gold_sha: str
    items: list[GoldItem]
    evaluations: list[Evaluation] = field(default_factory=list)
    comparisons: list[PairedKappa] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        gold = {i.id: i for i in self.items}
        return {
            "gold": list(self.gold_paths), "gold_sha": self.gold_sha, "items": len(self.items),
            "judges": [{**e.figures.to_dict(), "eval_id": e.eval_id,
                        "verdicts": [{"id": v.gold_id, "gold": v.gold, "score": v.score, "reason": v.reason,
                                      "category": v.category, "error": v.error, "raw": v.raw,
                                      "tags": list(gold[v.gold_id].tags),
                                      "sub_dimension": gold[v.gold_id].sub_dimension} for v in e.verdicts]}
                       for e in self.evaluations],
            "comparisons": [c.to_dict() for c in self.comparisons],
        }


def comparison_pairs(n: int) -> list[tuple[int, int]]:
    """Which evaluations are compared: every pair of up to four; beyond that each against the first."""
    if n <= 4:
        return [(i, j) for i in range(n) for j in range(i + 1, n)]
    return [(0, j) for j in range(1, n)]


async def evaluate(candidates: Sequence[Candidate], gold_paths: Sequence[str | Path],
                   taxonomy: Taxonomy | None = None) -> EvalReport:
    """Every candidate over the gold items (one after another, so their requests never compete), the
    figures of each, and the paired comparisons. With a taxonomy, a gold item it does not know is a
    GoldError before any judge is asked."""
    items = load_gold(gold_paths, taxonomy)
    report = EvalReport(tuple(str(p) for p in gold_paths), gold_sha(gold_paths), items)
    for c in candidates:
        verdicts = await judge_items(c, items)
        report.evaluations.append(Evaluation(c.label, figures(c.label, c.kind, c.prompt_hash, items, verdicts),
                                             verdicts))
    for i, j in comparison_pairs(len(report.evaluations)):
        ea, eb = report.evaluations[i], report.evaluations[j]
        report.comparisons.append(paired_kappa(ea.candidate, ea.verdicts, eb.candidate, eb.verdicts))
    return report


def item_data(item: GoldItem) -> str:
    """What the TUI shows of a gold item, stored beside its verdict (the gold file may change later)."""
    return json.dumps(item.to_dict(), ensure_ascii=False)


# ---------------------------------------------------------------- judges from a config, and storing

HEURISTIC = "heuristic"


def choose_judges(config: Config, wanted: Sequence[str]) -> list[str]:
    """The judge keys to evaluate: the wanted ones (each a [[judge.targets]] key or 'heuristic', checked),
    or every configured judge and the heuristic."""
    have = [t.key for t in config.judge.targets]
    if not wanted:
        return [*have, HEURISTIC]
    for key in wanted:
        if key != HEURISTIC and key not in have:
            raise InputError(f"--judge: no judge named {key!r} in {config.source} [[judge.targets]] "
                             f"(have: {', '.join([*have, HEURISTIC])})")
    return list(dict.fromkeys(wanted))


def build_candidates(config: Config, taxonomy: Taxonomy, keys: Sequence[str], make_client: Any,
                     prompt_files: Sequence[str] = ()) -> list[Candidate]:
    """One candidate per judge key; a rubric judge once per prompt file when prompt files are given (else
    with the config's prompt). make_client: TargetConfig → a ChatClient."""
    from scsafety_tui.rubric import load_prompt, rubric_for

    if prompt_files and not any(t.kind == "rubric" for t in config.judge.targets if t.key in keys):
        raise InputError(f"--prompt-file: none of the chosen judges ({', '.join(keys)}) is a rubric judge; a "
                         "guard or the heuristic never reads a rubric prompt")
    prompts = [load_prompt(p, origin="--prompt-file") for p in prompt_files] or [rubric_for(config.judge.prompt_file)]
    judges: list[tuple[str, Judge]] = []
    for key in keys:
        if key == HEURISTIC:
            judges.append((HEURISTIC, Judge(taxonomy, [])))
            continue
        target = next(t for t in config.judge.targets if t.key == key)
        client = make_client(target)
        for prompt in prompts if target.kind == "rubric" else prompts[:1]:
            label = key if len(prompts) == 1 or target.kind != "rubric" else f"{key} [{Path(prompt.source).name}]"
            judges.append((label, Judge(taxonomy, [client], config.judge.retries, rubric=prompt,
                                        controversial=config.judge.controversial)))
    labels = [label for label, _ in judges]
    # two prompt files with one name are told apart by their hash
    return [Candidate(f"{label} #{judge.rubric.hash[:8]}" if labels.count(label) > 1 else label, judge)
            for label, judge in judges]


async def store_report(store: Store, report: EvalReport) -> None:
    """Every evaluation of the report into judge_eval / judge_eval_item; sets each one's eval_id."""
    gold = {i.id: i for i in report.items}
    for e in report.evaluations:
        f = e.figures
        rows = [(v.gold_id, v.gold, v.score, v.reason, v.raw, v.category, v.error, item_data(gold[v.gold_id]))
                for v in e.verdicts]
        e.eval_id = await store.add_judge_eval(gold_path=", ".join(report.gold_paths), gold_sha=report.gold_sha,
                                               judge=e.candidate, kind=f.kind, prompt_hash=f.prompt_hash,
                                               figures=f.to_dict(), items=rows)
