"""``labeler simulate``: the learning-curve CSV and plot, and its input errors."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from labeler.cli import main


def test_simulate_writes_curve_csv_and_png(tmp_path):
    out = tmp_path / "sim"
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            "sklearn:iris",
            "--strategies",
            "margin,random",
            "--budget",
            "30",
            "--batch",
            "5",
            "--seeds",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "curve.csv").open()))
    assert list(rows[0]) == ["strategy", "seed", "n_labels", "accuracy", "macro_f1"]
    assert {r["strategy"] for r in rows} == {"margin", "random"}
    assert {r["seed"] for r in rows} == {"0", "1"}
    assert max(int(r["n_labels"]) for r in rows) == 30
    assert all(0.0 <= float(r["accuracy"]) <= 1.0 for r in rows)
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_from_a_text_csv(tmp_path):
    data = tmp_path / "d.csv"
    with data.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for k in range(80):
            pos = k % 2 == 0
            w.writerow(
                [
                    ("good great fine" if pos else "bad awful poor") + f" n{k % 7}",
                    "pos" if pos else "neg",
                ]
            )
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            str(data),
            "--label-column",
            "label",
            "--text-column",
            "text",
            "--strategies",
            "margin",
            "--budget",
            "20",
            "--batch",
            "5",
            "--seeds",
            "1",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "curve.csv").exists()


def test_simulate_input_errors(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(
        main, ["simulate", "sklearn:iris", "--strategies", "magic", "--out", str(tmp_path)]
    )
    assert bad.exit_code != 0 and "magic" in bad.output
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    missing = runner.invoke(
        main, ["simulate", str(data), "--label-column", "y", "--out", str(tmp_path)]
    )
    assert missing.exit_code != 0 and "no column 'y'" in missing.output
