"""The one error tree of bluegreen, and the exit code of each branch.

    BluegreenError                      exit 3 unless a subclass says otherwise
    ├── UsageError                      2  bad arguments or input (a release string, a stage name)
    │   ├── ConfigError                 2  bluegreen.toml is missing or wrong (key path first)
    │   └── BadRecord                   2  a state record read back is malformed (edited by hand?)
    ├── Refused                         1  a safety check said no; nothing unsafe was done
    │   ├── Drift                       1  Varnish and the record disagree
    │   └── CheckFailed                 1  verification of the passive color failed
    └── DependencyError                 3  a system we depend on failed
        ├── VarnishError                3  unreachable, timed out, or answered an error
        │   └── VarnishAuthError        2  the secret was rejected (a configuration fault)
        ├── VclCompileError             2  Varnish refused our rendered VCL (template fault)
        ├── DeployError                 3  the deploy command failed on a server
        ├── MigrationError              3  schema.expand, schema.contract or schema.inspect failed
        ├── RetireError                 3  retire.command failed, or a retired server still answers
        ├── JenkinsError                3  the Jenkins REST API failed or returned garbage
        └── MetricsError                3  watch could not read its source (Prometheus, varnishncsa)

A failed check (verify, compare, watch) is raised like any other refusal, carrying what the step
found; no step builds its own failing answer.

Foreign exceptions (OSError, socket.timeout, requests errors) are translated into this tree at
the module that talks to the outside system; nothing above that boundary catches them.
"""


class BluegreenError(Exception):
    """`message` is the one line for stderr; a step that found things before it failed hands
    them over as `data` (the --json document) and `text` (its answer on stdout); the CLI alone
    renders them."""

    exit_code = 3

    def __init__(self, message: str, data: dict | None = None, text: str | None = None):
        super().__init__(message)
        self.message, self.data, self.text = message, data, text


class UsageError(BluegreenError):
    exit_code = 2


class ConfigError(UsageError):
    pass


class BadRecord(UsageError):
    pass


class Refused(BluegreenError):
    exit_code = 1


class Drift(Refused):
    pass


class CheckFailed(Refused):
    pass


class DependencyError(BluegreenError):
    exit_code = 3


class VarnishError(DependencyError):
    pass


class VarnishAuthError(VarnishError):
    exit_code = 2


class VclCompileError(DependencyError):
    exit_code = 2


class DeployError(DependencyError):
    pass


class JenkinsError(DependencyError):
    pass


class MigrationError(DependencyError):
    pass


class RetireError(DependencyError):
    pass


class MetricsError(DependencyError):
    pass
