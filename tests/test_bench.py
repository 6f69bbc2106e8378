"""The benchmark runs end to end and its two routes agree (no timing asserted)."""

from model.bench import main


def test_benchmark_smallest_size(tmp_path, capsys):
    report = tmp_path / "bench.md"
    assert main(["--sizes", "xs", "--output", str(report)]) == 0  # 1 when objectives differ by > 1e-7
    text = report.read_text(encoding="utf-8")
    assert "| xs | 5,392 |" in text
    assert "largest objective gap" in capsys.readouterr().out
