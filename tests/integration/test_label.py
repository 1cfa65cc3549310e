"""Label mode: a Varnish shared with other sites. The site's own VCL stays active and hands each
app's requests to its label; bluegreen moves only the label (real varnishd, real sample apps)."""

from __future__ import annotations

from tests.helpers import ports
from tests.helpers.label import LABEL, labels_of, shop, use_site_vcl
from tests.helpers.load import Wrk


def actives(site) -> set:
    return set(site.actives())


class TestLabelRelease:
    """Release, switch and rollback of one app move its label only; the site VCL stays active."""

    def test_release_switch_rollback_under_load(self, label_site):
        site, other = label_site
        site.release("1.0.0")  # the first switch creates the label
        assert labels_of(site, "shop_test") == [site.state()["colors"]["blue"]["vcl"]] * 3
        assert actives(site) == {"boot"}, "label mode never sends vcl.use"
        use_site_vcl(site, other, {"shop": "shop_test"})
        assert shop(site) == ("blue", "1.0.0")
        url = f"http://{site.varnish.http}/version"
        with Wrk(url, host="shop") as app_load, Wrk(url, host="elsewhere") as other_load:
            site.release("1.1.0")
            assert actives(site) == {"site"}
            assert {shop(site, n) for n in range(3)} == {("green", "1.1.0")}
            site.ok("rollback", "--stage", "test")
            assert actives(site) == {"site"}
            assert {shop(site, n) for n in range(3)} == {("blue", "1.0.0")}
        assert app_load.result.failed == 0, app_load.result.output
        assert other_load.result.failed == 0, other_load.result.output
        assert app_load.result.requests > 0 and other_load.result.requests > 0
        assert site.served(headers={"Host": "elsewhere"}) == (None, "site-1")

    def test_preview_reaches_the_passive_color_through_the_site_vcl(self, label_site):
        site, other = label_site
        site.release("1.0.0")
        use_site_vcl(site, other, {"shop": "shop_test"})
        for argv in (["passive"], ["deploy", "--version", "1.1.0"], ["verify"]):
            site.ok(*argv, "--stage", "test")
        junit = (site.out / "test" / "junit-verify.xml").read_text()
        assert "skipped" not in junit.split("preview")[1][:200]
        assert site.served(headers={"Host": "shop", "X-Bluegreen-Color": "green"}) == ("green", "1.1.0")
        assert shop(site) == ("blue", "1.0.0")

    def test_status_lists_the_label_per_instance(self, label_site):
        site, other = label_site
        site.release("1.0.0")
        run = site.ok("status", "--stage", "test")
        assert run.out.count("(label shop_test)") == 3


class TestTwoApps:
    """Two apps on the same three instances release in an interleaved order, each its own label."""

    def test_interleaved_releases(self, label_site):
        site, other = label_site
        cart_servers = {c: ports.address() for c in ("blue", "green")}
        cart = site.write_config(
            path=site.root / "cart.toml", app='"cart"', vcl=LABEL,
            checks='timeout_s = 2\nwait_s = 8\nhost = "cart"\n',
            stage=(f'varnish = [{", ".join(repr(str(v.admin)) for v in site.varnishes)}]\n'
                   f'front = [{", ".join(repr(str(v.http)) for v in site.varnishes)}]\n'
                   f'blue = ["{cart_servers["blue"]}"]\ngreen = ["{cart_servers["green"]}"]\n'))
        cart_out = site.root / "cart-out"

        def c(*argv):
            return site.ok(*argv, "--stage", "test", config=cart, out=cart_out)

        site.ok("passive", "--stage", "test")
        c("passive")
        site.ok("deploy", "--stage", "test", "--version", "1.0.0")
        c("deploy", "--version", "7.0.0")
        c("verify")
        c("switch")
        site.ok("verify", "--stage", "test")
        site.ok("switch", "--stage", "test")
        site.ok("record", "--stage", "test")
        c("record")
        use_site_vcl(site, other, {"shop": "shop_test", "cart": "cart_test"})
        assert shop(site) == ("blue", "1.0.0")
        assert site.served(headers={"Host": "cart"}) == ("blue", "7.0.0")

        shop_before = labels_of(site, "shop_test")
        for argv in (["passive"], ["deploy", "--version", "7.1.0"], ["verify"], ["switch"], ["record"]):
            c(*argv)
        assert labels_of(site, "shop_test") == shop_before, "cart's release left shop's label alone"
        assert site.served(headers={"Host": "cart"}) == ("green", "7.1.0")
        assert shop(site) == ("blue", "1.0.0")
        cart_before = labels_of(site, "cart_test")
        site.release("1.1.0")
        assert labels_of(site, "cart_test") == cart_before
        site.ok("rollback", "--stage", "test")
        assert shop(site) == ("blue", "1.0.0")
        assert site.served(headers={"Host": "cart"}) == ("green", "7.1.0")
        assert actives(site) == {"site"}


class TestRestart:
    """An instance restarted without the label is named by status and fixed by reconcile."""

    def test_status_names_it_and_reconcile_recreates_the_label(self, label_site):
        site, other = label_site
        site.release("1.0.0")
        use_site_vcl(site, other, {"shop": "shop_test"})
        site.release("1.1.0")
        site.varnishes[1].stop()
        site.varnishes[1].start()
        assert labels_of(site, "shop_test")[1] is None
        run = site.cli("status", "--stage", "test")
        assert run.code == 1
        assert "label missing (label shop_test)" in run.out and "reconcile --stage test" in run.out
        run = site.cli("passive", "--stage", "test")
        assert run.code == 1 and "reconcile" in run.err
        site.ok("reconcile", "--stage", "test")
        assert labels_of(site, "shop_test")[1] == site.state()["colors"]["green"]["vcl"]
        use_site_vcl(site, other, {"shop": "shop_test"}, instances=[site.varnishes[1]])
        assert {shop(site, n) for n in range(3)} == {("green", "1.1.0")}
        assert site.ok("passive", "--stage", "test").out.strip() == "blue"


class TestSnippet:
    """vcl-snippet prints the line the site's VCL needs."""

    def test_snippet(self, label_site):
        site, _ = label_site
        run = site.ok("vcl-snippet", "--stage", "test")
        assert "return (vcl(shop_test));" in run.out and '"^shop(:[0-9]+)?$"' in run.out
