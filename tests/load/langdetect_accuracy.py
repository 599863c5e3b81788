"""Language detection accuracy per language on the hand-written samples.

    python -m tests.load.langdetect_accuracy

Reports each language twice: with no hint about the author, and with the author's own
language known (what CreatePost has: the author's profile languages break ties in short,
ambiguous text).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.post.langdetect import detect_language
from tests.data.langdetect_samples import SAMPLES


@dataclass(frozen=True, slots=True)
class Score:
    language: str
    samples: int
    correct_blind: int
    correct_with_author: int
    misses: list[tuple[str, str | None]]


def measure() -> list[Score]:
    scores = []
    for language, sentences in SAMPLES.items():
        blind = [(s, detect_language(s)) for s in sentences]
        hinted = [detect_language(s, author_languages=[language]) for s in sentences]
        scores.append(
            Score(
                language=language,
                samples=len(sentences),
                correct_blind=sum(1 for _, got in blind if got == language),
                correct_with_author=sum(1 for got in hinted if got == language),
                misses=[(s, got) for s, got in blind if got != language],
            )
        )
    return scores


def main() -> None:
    scores = measure()
    print("| language | samples | accuracy (no hint) | accuracy (author's language known) |")
    print("|---|---|---|---|")
    for s in scores:
        print(
            f"| {s.language} | {s.samples} | {s.correct_blind / s.samples:.0%} "
            f"| {s.correct_with_author / s.samples:.0%} |"
        )
    total = sum(s.samples for s in scores)
    print(
        f"| all | {total} | {sum(s.correct_blind for s in scores) / total:.1%} "
        f"| {sum(s.correct_with_author for s in scores) / total:.1%} |"
    )
    for s in scores:
        for sentence, got in s.misses:
            print(f"miss ({s.language} -> {got}): {sentence}")


if __name__ == "__main__":
    main()
