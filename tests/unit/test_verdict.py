"""The verdict of an interval and of a whole watch, from figures alone."""

from __future__ import annotations

from bluegreen.watch.verdict import FAIL, INCONCLUSIVE, PASS, Figures, Rules, intervals, judge, line, outcome

RULES = Rules(max_error_rate=0.02, min_requests=50)


class TestInterval:
    """Each interval is judged on its own figures, with the reason kept."""

    def test_fail_above_threshold(self):
        entry = judge(3, Figures(200, 40), RULES)
        assert entry["verdict"] == FAIL and entry["share"] == 0.2
        assert entry["requests"] == 200 and entry["errors"] == 40 and entry["n"] == 3
        assert "20.00%" in entry["why"] and "2.00%" in entry["why"]

    def test_pass_at_threshold(self):
        assert judge(1, Figures(100, 2), RULES)["verdict"] == PASS

    def test_fewer_than_min_requests_is_inconclusive_even_when_all_fail(self):
        entry = judge(1, Figures(49, 49), RULES)
        assert entry["verdict"] == INCONCLUSIVE and "fewer than min_requests 50" in entry["why"]

    def test_missing_figures_are_inconclusive_with_the_reason(self):
        entry = judge(2, Figures(None, None, missing="query returned no series: up"), RULES)
        assert entry["verdict"] == INCONCLUSIVE and entry["why"] == "query returned no series: up"
        assert entry["share"] is None

    def test_incomplete_log_is_inconclusive_even_with_errors(self):
        entry = judge(2, Figures(500, 400, missing="log overrun"), RULES)
        assert entry["verdict"] == INCONCLUSIVE and entry["share"] == 0.8

    def test_not_above_the_old_colors_share_passes(self):
        entry = judge(1, Figures(100, 5), RULES, baseline=0.06)
        assert entry["verdict"] == PASS and "6.00%" in entry["why"]

    def test_above_both_fails_and_names_the_baseline(self):
        entry = judge(1, Figures(100, 10), RULES, baseline=0.06)
        assert entry["verdict"] == FAIL and entry["baseline"] == 0.06 and "6.00%" in entry["why"]

    def test_zero_min_requests_and_no_traffic_passes(self):
        assert judge(1, Figures(0, 0), Rules(0.02, 0))["verdict"] == PASS

    def test_fractional_counts_from_prometheus_are_kept_readable(self):
        entry = judge(1, Figures(120.00000001, 3.5), RULES)
        assert entry["requests"] == 120 and entry["errors"] == 3.5


class TestWatch:
    """The whole watch: the first failure rolls back; inconclusive follows on_inconclusive."""

    def test_all_pass(self):
        judged = [judge(n, Figures(100, 0), RULES) for n in (1, 2)]
        assert outcome(judged, RULES) == {"verdict": PASS, "rollback": False, "exit": 0,
                                          "why": "all 2 intervals passed"}

    def test_a_failure_rolls_back(self):
        judged = [judge(1, Figures(100, 0), RULES), judge(2, Figures(100, 30), RULES)]
        result = outcome(judged, RULES)
        assert result["verdict"] == FAIL and result["rollback"] and result["exit"] == 1
        assert result["why"].startswith("interval 2 failed")

    def test_inconclusive_in_each_setting(self):
        judged = [judge(1, Figures(100, 0), RULES), judge(2, Figures(0, 0), RULES)]
        seen = {mode: outcome(judged, Rules(0.02, 50, mode)) for mode in ("pass", "fail", "rollback")}
        assert {m: (r["verdict"], r["rollback"], r["exit"]) for m, r in seen.items()} == {
            "pass": (INCONCLUSIVE, False, 0), "fail": (INCONCLUSIVE, False, 1),
            "rollback": (INCONCLUSIVE, True, 1)}
        assert "interval 2" in seen["fail"]["why"] and '"fail"' in seen["fail"]["why"]


class TestExplain:
    """The line on stderr gives requests, errors, share, threshold and verdict."""

    def test_failing_line(self):
        text = line("prod", "green", judge(4, Figures(412, 9), RULES), 12)
        assert text.startswith("watch prod green [4/12]: 412 requests, 9 errors, share 2.18%, "
                               "threshold 2.00%: FAIL (")

    def test_inconclusive_line_shows_dashes(self):
        text = line("prod", "green", judge(1, Figures(None, None, missing="no series"), RULES), 2)
        assert "- requests, - errors, share -" in text and "INCONCLUSIVE (no series)" in text

    def test_interval_count(self):
        assert (intervals(120, 10), intervals(5, 2), intervals(1, 1)) == (12, 3, 1)
