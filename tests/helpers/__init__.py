"""What the tests share, and nothing else: test modules import from here, never from each other.

    paths        the repository's folders and files the tests use
    ports        loopback ports no other worker or test run is handed at the same time
    site         `Site`: one real stage (varnishd, sample app servers, the CLI in-process)
    stages       a stage brought to a point of the pipeline (released, staged for a switch)
    label        label mode: a site VCL that routes to each app's label
    warming      [warmup] on a site, and whether Varnish answered from its cache
    migrations   [schema] and [retire] for the sample app's database
    configs      a small configuration, loaded without a stage
    fakes        `FakeAdmin`: a varnishd's admin port in memory (and one that misbehaves)
    fake_app     a fake app server and a fake deploy command that sets its release
    fake_stage   `FakeStage`: a stage on FakeAdmins and FakeApps, the CLI in-process
    scripted_http  a loopback HTTP server answering given bytes at a given pace (a Prometheus
                 answering garbage, a page that trickles)
    fake_jenkins a Jenkins controller for the Groovy harness;  pipeline: the shared pipeline on it
    load, local_watch, watching, postgres, sshd, browser: wrk, Prometheus and traffic, PostgreSQL,
                 sshd and headless Chromium as the integration tests start them
"""
