"""The benchmark runs end to end and its two routes agree (no timing asserted)."""

from model.bench.run import MARK_END, MARK_START, main


def test_benchmark_smallest_size_updates_only_its_block(tmp_path, capsys):
    page = tmp_path / "performance.md"
    page.write_text(f"# Performance\n\nProse kept.\n\n{MARK_START}\nold table\n{MARK_END}\n\nMore prose.\n")
    assert main(["--sizes", "xs", "--output", str(page)]) == 0  # 1 when objectives differ by > 1e-7
    text = page.read_text(encoding="utf-8")
    assert "| xs | 5,392 |" in text and "old table" not in text
    assert text.startswith("# Performance\n\nProse kept.") and text.endswith("More prose.\n")
    assert "largest objective gap" in capsys.readouterr().out
