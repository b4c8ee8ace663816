"""``admon upload --form``: a team's own question names, through its form profile."""

from __future__ import annotations

from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def test_upload_with_a_form_profile_then_without(tmp_path) -> None:
    profile = tmp_path / "hopong.toml"
    profile.write_text(
        '[questions]\nplot_id = "field_code"\ncrop = "crop_grown"\narea = "area_rai"\n'
        '[units]\narea = "rai"\n[values.crop]\nopium_poppy = ["1"]\ncannabis = ["2"]\n',
        encoding="utf-8",
    )
    export = tmp_path / "fields.csv"
    export.write_text(
        "field_code,crop_grown,area_rai,lon,lat\nT-1,1,2.5,97.161,20.811\nT-2,2,0.75,97.163,20.812\n",
        encoding="utf-8",
    )
    workspace = tmp_path / "ws"
    refused = runner.invoke(app, ["upload", str(export), "--team", "t", "-w", str(workspace)])
    assert refused.exit_code != 0
    assert 'crop = "crop_grown"' in refused.output
    first = runner.invoke(
        app, ["upload", str(export), "--team", "t", "--form", str(profile), "-w", str(workspace)]
    )
    assert first.exit_code == 0, first.output
    assert "2 rows accepted, 0 rejected" in first.output
    again = export.with_name("more.csv")
    again.write_text(export.read_text().replace("T-", "U-"), encoding="utf-8")
    second = runner.invoke(app, ["upload", str(again), "--team", "t", "-w", str(workspace)])
    assert second.exit_code == 0, second.output
    assert "2 rows accepted" in second.output
