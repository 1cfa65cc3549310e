// Blue-green release steps for Jenkins pipelines: blueGreen.passive(stage: 'test'), ...
// Groovy only wires credentials, environment and sh; every decision is made by `bluegreen`.
// Values from users and secrets reach the shell as environment variables, never as Groovy
// strings interpolated into a script.

import groovy.transform.Field

@Field static final Map DEFAULTS = [
    config: 'bluegreen.toml',
    out: 'bluegreen-out',
    command: 'bluegreen',
    varnishSecretId: 'varnish-secret',
    jenkinsTokenId: 'jenkins-api-token',
]

@Field static final Map EXIT_MEANING = [
    1: 'refused, or a check failed; nothing unsafe was done',
    2: 'bad usage or configuration',
    3: 'a system it depends on failed',
]

String passive(Map options = [:]) {
    Map c = settings(options)
    return runStep(c, 'passive', true).trim()
}

String deploy(Map options = [:]) {
    Map c = settings(options)
    if (!c.version) {
        error('blueGreen.deploy: version is required, e.g. blueGreen.deploy(stage: \'test\', version: params.VERSION)')
    }
    return runStep(c, 'deploy', false)
}

String verify(Map options = [:]) {
    Map c = settings(options)
    try {
        return runStep(c, 'verify', false)
    } finally {
        junit(testResults: "${c.out}/${c.stage}/junit-verify.xml", allowEmptyResults: true)
    }
}

String switchLive(Map options = [:]) {
    Map c = settings(options)
    try {
        return runStep(c, 'switch', false)
    } finally {
        archive(c)
    }
}

String record(Map options = [:]) {
    return recordAfter(settings(options), 'record')
}

String rollback(Map options = [:]) {
    return recordAfter(settings(options), 'rollback')
}

String status(Map options = [:]) {
    Map c = settings(options + [stageOptional: true])
    return runStep(c, 'status', true)
}

private Map settings(Map options) {
    Map c = DEFAULTS + options
    if (!c.stage && !c.stageOptional) {
        error('blueGreen: stage is required, e.g. blueGreen.passive(stage: \'test\')')
    }
    if (c.stage && !(c.stage ==~ /[A-Za-z][A-Za-z0-9_-]{0,39}/)) {
        error("blueGreen: stage '${c.stage}' should start with a letter and hold only letters, digits, '-' and '_'")
    }
    return c
}

private String runStep(Map c, String step, boolean answer) {
    List env = [
        "BG_COMMAND=${c.command}",
        "BG_STEP=${step}",
        "BG_STAGE=${c.stage ?: ''}",
        "BG_VERSION=${c.version ?: ''}",
        "BG_FORCE=${c.force ? '--force' : ''}",
        "BLUEGREEN_CONFIG=${c.config}",
        "BLUEGREEN_OUT=${c.out}",
    ]
    int code = 0
    String stdout = ''
    withCredentials(credentialBindings(c)) {
        withEnv(env) {
            String script = answer ? '$BG_COMMAND "$BG_STEP" ${BG_STAGE:+--stage "$BG_STAGE"} > .bluegreen-answer' :
                '$BG_COMMAND "$BG_STEP" ${BG_STAGE:+--stage "$BG_STAGE"} ${BG_VERSION:+--version="$BG_VERSION"} $BG_FORCE'
            code = sh(script: script, returnStatus: true)
            if (answer && fileExists('.bluegreen-answer')) {
                stdout = readFile('.bluegreen-answer')
            }
        }
    }
    if (code != 0) {
        String meaning = EXIT_MEANING[code] ?: 'failed'
        error("bluegreen ${step} --stage ${c.stage}: exit ${code} (${meaning}); see the lines above")
    }
    return stdout
}

private List credentialBindings(Map c) {
    List creds = []
    if (c.varnishSecretId) {
        creds << file(credentialsId: c.varnishSecretId, variable: 'BLUEGREEN_SECRET_FILE')
    }
    if (c.jenkinsTokenId) {
        creds << usernamePassword(credentialsId: c.jenkinsTokenId,
            usernameVariable: 'JENKINS_USER', passwordVariable: 'JENKINS_API_TOKEN')
    }
    return creds
}

// Runs a step that records the stage, archives OUT/** whatever happened, publishes the report.
private String recordAfter(Map c, String step) {
    try {
        runStep(c, step, false)
    } finally {
        archive(c)
    }
    return publish(c)
}

private void archive(Map c) {
    archiveArtifacts(artifacts: "${c.out}/**", allowEmptyArchive: true, fingerprint: false)
}

private String publish(Map c) {
    String dir = "${c.out}/${c.stage}"
    publishHTML(target: [reportDir: dir, reportFiles: 'report.html', reportName: "bluegreen ${c.stage}",
                         keepAll: true, alwaysLinkToLastBuild: true, allowMissing: true])
    String summary = fileExists("${dir}/summary.txt") ? readFile("${dir}/summary.txt").trim() : ''
    if (summary) {
        List lines = (currentBuild.description ?: '').readLines().findAll { line ->
            line && !line.startsWith("${c.stage}:")
        }
        currentBuild.description = (lines + [summary]).join('\n')
    }
    return summary
}
