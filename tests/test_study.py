"""The compression table on a tiny configuration: every row measured, the JSON and Markdown
written, pruned rows physically smaller; bad settings answered with exit code 2."""

import json

import yaml

from helpers import CONV_SPEC, MLP_SPEC
from qpsnn.cli import main


def tiny_spec(tmp_path, raw=CONV_SPEC):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(dict(raw, prune={"batches": 1, "batch_size": 64})))
    return str(path)


def test_table_tiny(tmp_path, capsys):
    out = tmp_path / "res" / "table.json"
    code = main(["table", "--spec", tiny_spec(tmp_path), "--seeds", "3", "--bits", "2", "--prune-bits", "2",
                 "--ratios", "0.5", "--methods", "svs,random", "--epochs", "1", "--finetune-epochs", "1",
                 "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    rows = {r["row"]: r for r in result["rows"]}
    assert list(rows) == ["full precision", "baseline 2-bit", "ReScaW 2-bit", "svs 0.5", "random 0.5",
                          "order: prune then quantize (svs 0.5)"]
    assert result["pruned_layers"] == ["conv0", "conv1"]
    full, rescaw = rows["full precision"], rows["ReScaW 2-bit"]
    assert full["size_bytes"] == 4 * sum(  # 32-bit weights and biases of the spec's layers
        9 * 1 * 4 + 4 + 9 * 4 * 6 + 6 + 4 * 4 * 6 * 10 + 10 for _ in [0])
    assert rescaw["size_bytes"] < full["size_bytes"] / 3
    for label in ("svs 0.5", "random 0.5", "order: prune then quantize (svs 0.5)"):
        assert rows[label]["connections_pct"] < 50 and rows[label]["size_bytes"] < rescaw["size_bytes"]
        assert result["per_seed"]["3"][label]["channels"] == {"conv0": [4, 2], "conv1": [6, 3]}
    assert rows["svs 0.5"]["scoring_s"] > 0 and rows["svs 0.5"]["svd_s"] > 0
    for row in rows.values():
        assert 0 <= row["accuracy"] <= 1 and set(row["firing_rate"]) == {"lif0", "lif1"}
        # the latency axis: the analytic cycles of the accelerator of every integer (deploy-form) row
        assert ("cycles_per_image" in row) == (row["row"] != "full precision")
        assert row.get("cycles_per_image", 1) > 0
    markdown = (tmp_path / "res" / "table.md").read_text()
    assert markdown.count("\n") == 2 + len(rows) and "svs 0.5" in markdown


def test_table_bad_settings_exit_2_nothing_written(tmp_path, capsys):
    out = tmp_path / "table.json"
    for args, words in ((["--ratios", "0.9"], ["would leave no channel", "conv0"]),
                        (["--ratios", "half"], ["comma-separated list of ratios"]),
                        (["--methods", "taylor"], ["unknown ['taylor']", "svs"]),
                        (["--bits", "9"], ["--bits", "2..8"])):
        code = main(["table", "--spec", tiny_spec(tmp_path), "--out", str(out)] + args)
        err = capsys.readouterr().err
        assert code == 2, args
        for word in words:
            assert word in err, err
    code = main(["table", "--spec", tiny_spec(tmp_path, MLP_SPEC), "--out", str(out)])
    assert code == 2 and "prunes hidden conv layers" in capsys.readouterr().err
    assert not out.exists()
