"""VCL names and rendering."""

from __future__ import annotations

from bluegreen import config, names, vcl


def _cfg(tmp_path, extra=""):
    path = tmp_path / "bluegreen.toml"
    path.write_text('app = "shop"\n' + extra + '[deploy]\ncommand = ["x"]\n[stages.prod]\n'
                    'varnish = ["127.0.0.1:6082"]\nblue = ["127.0.0.1:1", "127.0.0.1:2"]\n'
                    'green = ["127.0.0.1:3"]\n')
    return config.load(path)


class TestNames:
    """Names carry app, stage, color and a content hash, and never read as another app's."""

    def test_same_content_same_name(self):
        assert names.vcl_name("shop", "prod", "blue", "x") == names.vcl_name("shop", "prod", "blue", "x")
        assert names.vcl_name("shop", "prod", "blue", "x") != names.vcl_name("shop", "prod", "blue", "y")

    def test_color_of_knows_only_our_names(self):
        name = names.vcl_name("shop", "prod", "green", "x")
        assert names.color_of("shop", "prod", name) == "green"
        assert names.color_of("shop", "test", name) is None
        assert names.color_of("shop", "prod", "boot") is None
        assert names.color_of("shop", "prod", None) is None

    def test_underscores_in_app_and_stage_do_not_collide(self):
        mine = names.vcl_name("shop", "eu_prod", "blue", "x")
        theirs = names.vcl_name("shop_eu", "prod", "blue", "x")
        assert mine != theirs
        assert names.color_of("shop_eu", "prod", mine) is None
        assert names.discardable_color("shop_eu", "prod", mine) is None
        assert names.discardable_color("shop", "eu_prod", mine) == "blue"

    def test_names_of_bluegreen_0_1_are_read_but_never_discarded(self):
        legacy = "shop_prod_green_3f9a2c1d"
        assert names.color_of("shop", "prod", legacy) == "green"
        assert names.discardable_color("shop", "prod", legacy) is None


class TestRender:
    """The built-in template routes per color and splits the cache."""

    def test_both_colors_differ_only_in_the_default_route(self, tmp_path):
        cfg = _cfg(tmp_path)
        both = vcl.render_both(cfg, cfg.stage("prod"))
        blue, green = both["blue"][1], both["green"][1]
        assert 'set req.http.X-Bluegreen-Route = "blue";' in blue
        assert 'set req.http.X-Bluegreen-Route = "green";' in green
        for source in (blue, green):
            assert "hash_data(req.http.X-Bluegreen-Route);" in source
            assert source.count(".add_backend(") == 3
            assert '"127.0.0.1";' in source

    def test_preview_from_cidr(self, tmp_path):
        cfg = _cfg(tmp_path, '[vcl]\npreview_from = ["10.1.0.0/16"]\n')
        source = vcl.render(cfg, cfg.stage("prod"), "blue")
        assert '"10.1.0.0"/16;' in source
