"""The configuration form: invalid values disable Start with the field and the reason;
Open / Save round-trip TOML; presets load."""

from __future__ import annotations

from engine import DEFAULT_PRESET, load_config, load_preset


def test_invalid_field_disables_start_with_message(qtbot, window):
    panel = window.config_panel
    assert window.act_start.isEnabled()
    panel.set_field_text("objective.gp_lambda", "-1")
    assert not window.act_start.isEnabled()
    message = window.act_start.toolTip()
    assert "gp_lambda" in message and "too small" in message
    assert "gp_lambda" in window.statusBar().currentMessage()
    assert "too small" in panel.field_error("objective.gp_lambda")
    assert panel.field_widget("objective.gp_lambda").property("invalid") is True
    assert window.start() is False and not window.is_active()

    panel.set_field_text("objective.gp_lambda", "0.5")
    assert window.act_start.isEnabled() and panel.error is None
    assert panel.field_widget("objective.gp_lambda").property("invalid") is False


def test_text_that_is_not_a_number_is_explained(window):
    panel = window.config_panel
    panel.set_field_text("optimiser.lr_critic", "fast")
    assert not window.act_start.isEnabled()
    assert "expected a number" in panel.field_error("optimiser.lr_critic")


def test_cross_field_error_is_shown_under_the_field_it_names(window):
    panel = window.config_panel
    panel.set_field_text("model.critic_norm", "batch")  # batch-norm critic + gradient penalty
    assert not window.act_start.isEnabled()
    assert "batch-norm" in panel.field_error("model.critic_norm")
    assert "Cannot start" in panel.banner.text()


def test_tooltips_cite_the_papers_symbols(window):
    tips = {k: window.config_panel.field_widget(k).toolTip()
            for k in ("objective.clip_value", "objective.n_critic", "objective.gp_lambda", "optimiser.lr_critic")}
    assert "<b>c</b>" in tips["objective.clip_value"]
    assert "<b>n_critic</b>" in tips["objective.n_critic"]
    assert "<b>λ</b>" in tips["objective.gp_lambda"]
    assert "<b>α_D</b>" in tips["optimiser.lr_critic"]


def test_save_and_open_round_trip(qtbot, window, tmp_path):
    window.load_preset("toy-wgan-clip")
    window.config_panel.set_field_text("objective.clip_value", "0.02")
    assert window.windowTitle().startswith("Idle — toy-wgan-clip*")
    path = tmp_path / "mine.toml"
    assert window.save_config_to(path)
    assert load_config(path).objective.clip_value == 0.02
    assert "*" not in window.windowTitle()

    window.load_preset(DEFAULT_PRESET)
    assert window.config_panel.config() == load_preset(DEFAULT_PRESET)
    assert window.open_path(path)
    assert window.config_panel.config().objective.clip_value == 0.02
    assert window.settings.recent_files[0] == str(path.resolve())


def test_opening_a_bad_file_warns_and_keeps_the_config(qtbot, window, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[objective]\nclip_valu = 3\n")
    before = window.config_panel.config()
    assert not window.open_path(bad)
    assert "clip_valu" in window.warning_box.text()
    assert window.config_panel.config() == before


def test_the_best_checkpoints_measure_and_the_inception_weights_are_fields(window):
    """Issue 33: [train] best_by is checked against the data's evaluated columns; the Inception
    weights file has a field with a file chooser (2-D sets do not read it)."""
    panel = window.config_panel
    panel.set_field_text("train.best_by", "kid")  # the default preset is a 2-D set: no KID
    assert not window.act_start.isEnabled()
    assert "does not evaluate 'kid'" in panel.field_error("train.best_by")
    panel.set_field_text("train.best_by", "w1_exact")
    assert window.act_start.isEnabled() and panel.error is None
    weights = panel.field_widget("train.inception_weights")
    assert weights.placeholderText() == "file or folder" and not weights.isEnabled()
