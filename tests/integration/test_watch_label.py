"""watch in label mode: two apps on the same Varnish instances, both with a green color; each
watch counts only its own app's responses (the VCL logs bluegreen-site APP/STAGE)."""

from __future__ import annotations

import json

from bluegreen.demo import local
from tests.helpers import ports
from tests.helpers.label import LABEL, labels_of, use_site_vcl
from tests.helpers.local_watch import Traffic
from tests.helpers.watching import configure


class TestTwoAppsWatched:
    """cart's green fails half its pages while shop's green is healthy: shop passes, cart rolls back."""

    def test_each_app_judged_on_its_own_responses(self, label_site):
        site, other = label_site
        cart_servers = {c: ports.address() for c in ("blue", "green")}
        stage = (f'varnish = [{", ".join(repr(str(v.admin)) for v in site.varnishes)}]\n'
                 f'front = [{", ".join(repr(str(v.http)) for v in site.varnishes)}]\n'
                 f'blue = ["{cart_servers["blue"]}"]\ngreen = ["{cart_servers["green"]}"]\n')
        cart = site.root / "cart.toml"
        configure(site, "varnish", path=cart, overrides={
            "app": '"cart"', "vcl": LABEL, "checks": 'timeout_s = 2\nwait_s = 8\nhost = "cart"\n',
            "stage": stage})
        configure(site, "varnish", overrides={
            "vcl": LABEL, "checks": 'timeout_s = 2\nwait_s = 8\nhost = "shop"\n'})
        cart_out = site.root / "cart-out"
        site.release("7.0.0", config=cart, out=cart_out)  # the first switches make the labels
        site.release("1.0.0")
        use_site_vcl(site, other, {"shop": "shop_test", "cart": "cart_test"})
        site.release("7.1.0-fail50", config=cart, out=cart_out)
        site.release("1.1.0")
        assert site.served(headers={"Host": "cart"})[0] == "green"
        assert site.served(headers={"Host": "shop"})[0] == "green"
        shop_label = labels_of(site, "shop_test")
        with Traffic(site.varnish.http, rate=20, host="shop"), \
                Traffic(site.varnishes[1].http, rate=20, host="cart") as cart_traffic:
            local.wait_for(lambda: cart_traffic.count(status=lambda s: s == 500) >= 5, 20, "cart's 500s")
            shop_watch = site.cli("--json", "watch", "--stage", "test")
            cart_watch = site.cli("--json", "watch", "--stage", "test", config=cart, out=cart_out)
        assert shop_watch.code == 0, shop_watch.err
        assert all(i["errors"] == 0 for i in json.loads(shop_watch.out)["intervals"])
        assert cart_watch.code == 1 and json.loads(cart_watch.out)["verdict"] == "fail", cart_watch.err
        assert site.served(headers={"Host": "cart"})[0] == "blue"
        assert labels_of(site, "shop_test") == shop_label
        assert site.served(headers={"Host": "shop"})[0] == "green"
