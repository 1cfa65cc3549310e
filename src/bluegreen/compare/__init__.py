"""Before the switch: requests files, replay, the diff and its verdict, requests from a log, the warm-up."""
