// Blue-green release steps for Jenkins pipelines: blueGreen.passive(stage: 'test'), ...
// Groovy only wires: which credentials a step gets, its environment, `sh`, what is archived and
// published. Every decision about colors, releases and Varnish is made by `bluegreen` on the
// agent. Values from users and secrets reach the shell as environment variables, never as
// Groovy strings interpolated into a script.

import groovy.transform.Field

// The bluegreen release this library is written for; tests/pipeline/test_jenkins_library.py keeps it
// equal to bluegreen.__version__. Which agents pass: see compatibility().
@Field static final String VERSION = '0.2.0'

@Field static final Map DEFAULTS = [
    command: 'bluegreen',
    varnishSecretId: 'varnish-secret',
    jenkinsTokenId: 'jenkins-api-token',
    releaseBranch: 'main',
]

// The credentials each step is given: the Varnish secret to the steps that use Varnish's admin
// port, the Jenkins token to the steps that read the state archived by earlier builds.
@Field static final Map NEEDS = [
    passive: 'varnish jenkins',
    deploy: 'varnish',
    verify: 'varnish',
    compare: 'varnish',
    switch: 'varnish',
    record: 'varnish jenkins',
    watch: 'varnish jenkins',
    rollback: 'varnish jenkins',
    adopt: 'varnish jenkins',
    reconcile: 'varnish jenkins',
    retire: 'varnish jenkins',
    status: 'varnish jenkins',
]

@Field static final Map EXIT_MEANING = [
    1: 'refused, or a check failed; nothing unsafe was done',
    2: 'bad usage or configuration',
    3: 'a system it depends on failed',
]

// One shell line for every step; the values come from the environment set by runStep.
@Field static final String SCRIPT = '"$BG_COMMAND" "$BG_STEP" ${BG_STAGE:+--stage "$BG_STAGE"} ' +
    '${BG_VERSION:+--version="$BG_VERSION"} ${BG_REASON:+--reason="$BG_REASON"} $BG_FLAGS'

@Field static final String WARNINGS = '.bluegreen-warnings'   // in the workspace; BLUEGREEN_WARNINGS

@Field final Set checkedAgents = []   // per build: the nodes whose bluegreen passed the version check

String passive(Map options = [:]) {
    return runStep(settings('passive', options), true).trim()
}

void deploy(Map options = [:]) {
    Map c = settings('deploy', options)
    required(c, 'version', 'blueGreen.deploy(stage: \'test\', version: params.VERSION)')
    runStep(c)
}

void verify(Map options = [:]) {
    testedStep(settings('verify', options), 'junit-verify.xml')
}

void compare(Map options = [:]) {
    testedStep(settings('compare', options), 'junit-compare.xml')
}

void switchLive(Map options = [:]) {
    Map c = settings('switch', options)
    runStep(c + [flags: [c.force ? '--force' : '', c.noWarmup ? '--no-warmup' : ''].findAll().join(' ')])
}

String record(Map options = [:]) {
    return recordedStep(settings('record', options))
}

String watch(Map options = [:]) {
    Map c = settings('watch', options)
    try {
        return recordedStep(c)
    } finally {
        publishTests(c, 'junit-watch.xml')
    }
}

String rollback(Map options = [:]) {
    return recordedStep(settings('rollback', options))
}

String adopt(Map options = [:]) {
    Map c = settings('adopt', options)
    required(c, 'reason', 'blueGreen.adopt(stage: \'prod\', reason: \'hotfix applied by hand\')')
    return recordedStep(c)
}

String reconcile(Map options = [:]) {
    return recordedStep(settings('reconcile', options))
}

String retire(Map options = [:]) {
    Map c = settings('retire', options)
    return recordedStep(c + [flags: c.now ? '--now' : ''])
}

String status(Map options = [:]) {
    return runStep(settings('status', options + [stageOptional: true]), true)
}

// Carries this build's OUT/STAGE to a later node, e.g. across an approval that waits on no agent.
void stashStage(Map options = [:]) {
    Map c = settings('stash', options)
    stash(name: "bluegreen-${c.stage}", includes: "${c.out}/${c.stage}/**")
}

void unstashStage(Map options = [:]) {
    Map c = settings('unstash', options)
    dir("${c.out}/${c.stage}") { deleteDir() }
    unstash("bluegreen-${c.stage}")
    writeFile(file: "${c.out}/.owner/${c.stage}", text: env.BUILD_TAG)
}

// Fails at once, on no agent, when a build of this job must not run: a branch other than the
// release branch, or a parameter the action needs is empty.
void checkBuild(Map options = [:]) {
    Map c = DEFAULTS + options
    checkBranch(c)
    if (c.action == 'release') {
        required(c, 'version', 'VERSION, the release to deploy')
    }
    if (c.action == 'adopt') {
        required(c, 'reason', 'REASON, why what Varnish serves is the truth')
    }
}

// The agent's bluegreen against the one this library is written for: fails the build, or warns.
String checkAgent(Map options = [:]) {
    Map c = DEFAULTS + options
    String node = env.NODE_NAME ?: 'the agent'
    if (checkedAgents.contains(node)) {
        return VERSION
    }
    String said = ''
    withEnv(["BG_COMMAND=${c.command}"]) {
        int code = sh(script: '"$BG_COMMAND" --version > .bluegreen-version 2>&1', returnStatus: true)
        said = code == 0 && fileExists('.bluegreen-version') ? readFile('.bluegreen-version').trim() : ''
    }
    Map verdict = compatibility(VERSION, said, "${c.command} on ${node}")
    if (verdict.level == 'fail') {
        error(verdict.message)
    }
    if (verdict.level == 'warn') {
        echo("WARNING: ${verdict.message}")
    }
    checkedAgents << node
    return verdict.found
}

// The rule: the same major.minor passes, whatever the patch level. From 1.0 on, an agent of a
// newer minor within the same major passes with a warning (it still knows every step and flag of
// this one). Anything else fails: an older minor, another major, a 0.x of another minor (before
// 1.0 a minor may change the state files or the command line). NonCPS: a Matcher is not
// serialisable, and this calls no step.
@NonCPS
Map compatibility(String library, String said, String where) {
    java.util.regex.Matcher m = said =~ /bluegreen (\d+)\.(\d+)\.(\d+)\S*/
    List want = library.tokenize('.')*.toInteger()
    String fix = "install bluegreen ${library} on the agent (python3 -m pip install 'bluegreen==${library}' in the " +
        "agent's bluegreen venv, see docs/jenkins.md 'Installing on agents')"
    if (!m.find()) {
        return [level: 'fail', found: null, message: "blueGreen: cannot tell which bluegreen ${where} is " +
            "(`bluegreen --version` said '${said.take(200)}'); this library is written for ${library}: ${fix}"]
    }
    List got = [m.group(1), m.group(2), m.group(3)]*.toInteger()
    String found = "${got[0]}.${got[1]}.${got[2]}"
    String both = "${where} is bluegreen ${found}, this library is written for ${library}"
    if (got[0] == want[0] && got[1] == want[1]) {
        return [level: 'ok', found: found]
    }
    if (got[0] == want[0] && got[0] >= 1 && got[1] > want[1]) {
        return [level: 'warn', found: found, message: "blueGreen: ${both}; a newer minor release passes, " +
            "but upgrade the library with the agents (load @Library('bluegreen@v${found}'))"]
    }
    return [level: 'fail', found: found, message: "blueGreen: ${both}: ${fix}, or load the library that " +
        "matches the agent: @Library('bluegreen@v${found}') _"]
}

private Map settings(String step, Map options) {
    Map c = DEFAULTS + [config: env.BLUEGREEN_CONFIG ?: 'bluegreen.toml', out: env.BLUEGREEN_OUT ?: 'bluegreen-out',
                        step: step] + options
    if (!c.stage && !c.stageOptional) {
        error("blueGreen.${step}: stage is required, e.g. blueGreen.${step}(stage: 'test')")
    }
    if (c.stage && !(c.stage ==~ /[A-Za-z][A-Za-z0-9_-]{0,39}/)) {
        error("blueGreen: stage '${c.stage}' should start with a letter and hold only letters, digits, '-' and '_'")
    }
    return c
}

private void required(Map c, String key, String example) {
    if (!(c[key] as String)?.trim()) {
        error("blueGreen: ${key} is required for ${c.step ?: c.action}: ${example}")
    }
}

// A step that writes a JUnit report: the report is published also when the step fails, and only
// this build's (the stage folder was cleared when the build first used it on this node).
private void testedStep(Map c, String report) {
    try {
        runStep(c)
    } finally {
        publishTests(c, report)
    }
}

private void publishTests(Map c, String report) {
    junit(testResults: "${c.out}/${c.stage}/${report}", allowEmptyResults: true, skipOldReports: true)
}

// A step that records the stage: the HTML report and the summary are published also when it
// fails (watch exits 1 after rolling back, and the report says why).
private String recordedStep(Map c) {
    try {
        runStep(c)
    } finally {
        publish(c)
    }
    return summary(c)
}

private String runStep(Map c, boolean answer = false) {
    checkBranch(c)
    checkAgent(c)
    ownStage(c)
    List vars = [
        "BG_COMMAND=${c.command}", "BG_STEP=${c.step}", "BG_STAGE=${c.stage ?: ''}", "BG_VERSION=${c.version ?: ''}",
        "BG_REASON=${c.reason ?: ''}", "BG_FLAGS=${c.flags ?: ''}", "BLUEGREEN_CONFIG=${c.config}", "BLUEGREEN_OUT=${c.out}",
        "BLUEGREEN_WARNINGS=${WARNINGS}",
    ]
    int code = 0
    String stdout = ''
    writeFile(file: WARNINGS, text: '')
    try {
        withCredentials(credentialBindings(c)) {
            withEnv(vars) {
                code = sh(script: answer ? SCRIPT + ' > .bluegreen-answer' : SCRIPT, returnStatus: true)
                stdout = answer && fileExists('.bluegreen-answer') ? readFile('.bluegreen-answer') : ''
            }
        }
    } finally {
        if (c.stage) {
            archiveArtifacts(artifacts: "${c.out}/${c.stage}/**", allowEmptyArchive: true, fingerprint: false)
        }
        markWarnings(c)
    }
    if (code != 0) {
        error("bluegreen ${c.step}${c.stage ? " --stage ${c.stage}" : ''}: exit ${code} " +
              "(${EXIT_MEANING[code] ?: 'failed'}); see the lines above")
    }
    return stdout
}

// A step's "WARNING: " lines (a lost record, a forced switch) mark the build unstable: the stage
// view shows them, where a console line would go unread.
private void markWarnings(Map c) {
    String warnings = fileExists(WARNINGS) ? readFile(WARNINGS).trim() : ''
    if (warnings) {
        unstable("bluegreen ${c.step}${c.stage ? " --stage ${c.stage}" : ''}: ${warnings}")
    }
}

private void checkBranch(Map c) {
    if (env.BRANCH_NAME && env.BRANCH_NAME != c.releaseBranch && c.step != 'status') {
        error("blueGreen: this is a build of branch ${env.BRANCH_NAME}; only ${c.releaseBranch} releases (every " +
              'branch would drive the same Varnish with its own record): build ' + c.releaseBranch +
              ', or set releaseBranch to the branch that releases')
    }
}

// Jenkins reuses a workspace for the next build of the job (and gives an overlapping build
// <ws>@2), so OUT/STAGE may hold another build's plan, state or test report. The first step of
// a stage on a node clears it: nothing another build wrote is used, archived or published.
private void ownStage(Map c) {
    if (!c.stage) {
        return
    }
    String owner = "${c.out}/.owner/${c.stage}"   // BUILD_TAG: jenkins-JOB-NUMBER, set in every build
    if (fileExists(owner) && readFile(owner).trim() == env.BUILD_TAG) {
        return
    }
    dir("${c.out}/${c.stage}") { deleteDir() }
    writeFile(file: owner, text: env.BUILD_TAG)
}

private List credentialBindings(Map c) {
    List needs = (NEEDS[c.step] ?: '').tokenize()
    List creds = []
    if (c.varnishSecretId && needs.contains('varnish')) {
        creds << file(credentialsId: c.varnishSecretId, variable: 'BLUEGREEN_SECRET_FILE')
    }
    if (c.jenkinsTokenId && needs.contains('jenkins')) {
        creds << usernamePassword(credentialsId: c.jenkinsTokenId,
            usernameVariable: 'JENKINS_USER', passwordVariable: 'JENKINS_API_TOKEN')
    }
    return creds
}

private void publish(Map c) {
    String folder = "${c.out}/${c.stage}"
    publishHTML(target: [reportDir: folder, reportFiles: 'report.html', reportName: "bluegreen ${c.stage}",
                         keepAll: true, alwaysLinkToLastBuild: true, allowMissing: true])
    String line = summary(c)
    if (line) {
        List lines = (currentBuild.description ?: '').readLines().findAll { String l ->
            l && !l.startsWith("${c.stage}:")
        }
        currentBuild.description = (lines + [line]).join('\n')
    }
}

private String summary(Map c) {
    String path = "${c.out}/${c.stage}/summary.txt"
    return fileExists(path) ? readFile(path).trim() : ''
}
