// Pipeline steps as Jenkins and its plugins run them, stubbed the way JenkinsPipelineUnit does,
// with `sh` run for real. The Jenkinsfile and vars/*.groovy are compiled with this base class.
// Where a step's behaviour matters to bluegreen, it follows the plugin:
// - sh (durable-task BourneShellScript): the script is a file run with `sh -xe`, stdout and
//   stderr both in the log; interrupting the build kills it.
// - steps that touch files need a node (Declarative `agent`); outside one they fail as Jenkins
//   does ("Required context class hudson.FilePath is missing").
// - withCredentials (credentials-binding): a Secret file is written under <ws>@tmp and removed
//   after the block; an unknown id fails the step.
// - junit (junit-plugin JUnitResultArchiver/TestResult): skipOldReports skips files modified
//   more than 3 s before the build started; failures mark the build UNSTABLE.
// - archiveArtifacts, stash/unstash (workflow-basic-steps, workflow-api StashManager): files
//   matching the Ant-style pattern relative to the workspace; stashes go when the build ends.
// - input (pipeline-input-step): waits for an answer through Jenkins (proceed or abort).

import java.nio.file.FileSystems
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.PathMatcher
import java.nio.file.StandardCopyOption

abstract class Steps extends Script {

    Map getParams() { World.params }
    EnvView getEnv() { new EnvView() }
    Map getCurrentBuild() { World.currentBuild }
    Object getScm() { 'scm' }

    void pipeline(Closure body) { new Declarative(this).run(body) }

    // -- plain steps ---------------------------------------------------------------------------
    Object script(Closure body) { body.call() }

    void echo(Object message) { World.say(String.valueOf(message)) }

    void error(String message) { throw new PipelineError(message) }

    void unstable(Object args) {
        String message = args instanceof Map ? args.message : String.valueOf(args)
        World.worsen('UNSTABLE')
        World.event([type: 'unstable', message: message])
        World.say("WARNING: ${message}")
    }

    Object timestamps(Closure body) { body.call() }

    Object timeout(Map args, Closure body) {
        Map units = [SECONDS: 1000L, MINUTES: 60000L, HOURS: 3600000L]
        long ms = ((args.time as long) * units[(args.unit ?: 'MINUTES') as String] * (World.spec.timeScale ?: 1.0)) as long
        World.deadlines << [at: System.currentTimeMillis() + ms, what: "${args.time} ${args.unit}"]
        World.event([type: 'timeout', time: args.time, unit: args.unit])
        try {
            return body.call()
        } finally {
            World.deadlines.remove(World.deadlines.size() - 1)
        }
    }

    Object withEnv(List vars, Closure body) {
        World.envLayers << vars.collectEntries { String v -> int i = v.indexOf('='); [(v.substring(0, i)): v.substring(i + 1)] }
        try {
            return body.call()
        } finally {
            World.envLayers.remove(World.envLayers.size() - 1)
        }
    }

    // -- Jenkins' controller: milestone, lock, node, input ---------------------------------------
    void milestone(Object args) {
        Integer ordinal = args instanceof Map ? args.ordinal as Integer : args as Integer
        World.say("Trying to pass milestone ${ordinal}")
        World.event([type: 'milestone', ordinal: ordinal])
        String cause = World.controller.call('milestone', [ordinal: ordinal]).interrupted
        if (cause) { throw PipelineError.aborted(cause) }
    }

    Object lock(Object args, Closure body) {
        String resource = args instanceof Map ? args.resource : args
        World.say("[Pipeline] lock: trying to acquire lock on [Resource: ${resource}]")
        World.controller.call('lock/request', [resource: resource])
        World.controller.waitFor("lock ${resource}", { World.controller.call('lock/status', [resource: resource]).granted },
                                 { World.controller.call('lock/release', [resource: resource]) })
        World.event([type: 'lock', resource: resource])
        World.say("Lock acquired on [Resource: ${resource}]")
        World.locks << resource
        try {
            return body.call()
        } finally {
            World.locks.remove(resource)
            World.controller.call('lock/release', [resource: resource])
            World.event([type: 'unlock', resource: resource])
            World.say("Lock released on resource [Resource: ${resource}]")
        }
    }

    Object node(String label, Closure body) {
        Map ticket = World.controller.call('node/request', [label: label])
        if (ticket.error) { throw new PipelineError(ticket.error as String) }
        Map granted = (Map) World.controller.waitFor("an executor${label ? " with label ${label}" : ''}", {
            Map t = World.controller.call('node/status', [ticket: ticket.ticket]); t.granted ? t : null
        }, { World.controller.call('node/release', [ticket: ticket.ticket]) })
        File ws = new File(granted.workspace as String)
        ws.mkdirs()
        Map node = [name: 'agent-1', workspace: ws.path, executor: granted.executor, ticket: ticket.ticket]
        World.event([type: 'node', workspace: ws.path, executor: granted.executor])
        World.say("Running on agent-1 in ${ws.path}")
        World.nodes << node
        List savedDirs = World.dirs
        World.dirs = []
        World.envLayers << [WORKSPACE: ws.path, NODE_NAME: 'agent-1', EXECUTOR_NUMBER: String.valueOf(granted.executor),
                            NODE_LABELS: 'agent-1 bluegreen']
        try {
            return body.call()
        } finally {
            World.envLayers.remove(World.envLayers.size() - 1)
            World.dirs = savedDirs
            World.nodes.remove(World.nodes.size() - 1)
            World.controller.call('node/release', [ticket: ticket.ticket])
            World.event([type: 'node-released', workspace: ws.path])
        }
    }

    Object input(Map args) {
        String id = capitalize((args.id ?: Integer.toHexString(String.valueOf(args.message).hashCode())) as String)
        Map holding = [node: World.node() != null, locks: new ArrayList(World.locks)]
        World.controller.call('input/open', [id: id, message: args.message, submitter: args.submitter, ok: args.ok])
        World.event([type: 'input', id: id, message: args.message, submitter: args.submitter] + holding)
        World.say("${args.message}\n${args.ok ?: 'Proceed'} or Abort")
        Map answer = (Map) World.controller.waitFor("input ${id}", {
            Map s = World.controller.call('input/status', [id: id]); s.state == 'pending' ? null : s
        }, { World.controller.call('input/close', [id: id, state: 'abort']) })
        World.event([type: 'input-answer', id: id, state: answer.state, by: answer.by])
        if (answer.state != 'proceed') {
            throw PipelineError.aborted("Rejected by ${answer.by}")
        }
        World.say("Approved by ${answer.by}")
        return args.submitterParameter ? answer.by : null
    }

    static String capitalize(String id) {
        return id ? id[0].toUpperCase() + id.substring(1) : id
    }

    // -- files ---------------------------------------------------------------------------------
    Object dir(String path, Closure body) {
        World.cwd('dir')
        World.dirs << path
        try {
            return body.call()
        } finally {
            World.dirs.remove(World.dirs.size() - 1)
        }
    }

    void deleteDir() {
        World.cwd('deleteDir').deleteDir()
    }

    boolean fileExists(Object args) {
        return new File(World.cwd('fileExists'), (args instanceof Map ? args.file : args) as String).exists()
    }

    String readFile(Object args) {
        return new File(World.cwd('readFile'), (args instanceof Map ? args.file : args) as String).getText('UTF-8')
    }

    void writeFile(Map args) {
        File f = new File(World.cwd('writeFile'), args.file as String)
        f.parentFile.mkdirs()
        f.setText(args.text as String, 'UTF-8')
    }

    // -- credentials -----------------------------------------------------------------------------
    Map file(Map args) { [kind: 'file'] + args }

    Map string(Map args) { [kind: 'string'] + args }

    Map usernamePassword(Map args) { [kind: 'usernamePassword'] + args }

    Object withCredentials(List bindings, Closure body) {
        Map vars = [:]
        List temp = []
        bindings.each { Map b ->
            Map stored = (Map) World.spec.credentials[b.credentialsId]
            if (stored == null) { throw new PipelineError("Could not find credentials entry with ID '${b.credentialsId}'") }
            if (stored.kind != b.kind) { throw new PipelineError("Credentials '${b.credentialsId}' is of type '${stored.kind}' where '${b.kind}' was expected") }
            if (b.kind == 'file') {
                File secret = new File(World.cwd('withCredentials').path + "@tmp/secretFiles/${UUID.randomUUID()}/secret")
                secret.parentFile.mkdirs()
                secret.text = stored.content
                temp << secret.parentFile
                vars[b.variable] = secret.path
            } else if (b.kind == 'string') {
                vars[b.variable] = stored.secret
            } else {
                vars[b.usernameVariable] = stored.username
                vars[b.passwordVariable] = stored.password
            }
        }
        World.event([type: 'credentials', ids: bindings*.credentialsId])
        World.envLayers << vars
        try {
            return body.call()
        } finally {
            World.envLayers.remove(World.envLayers.size() - 1)
            temp.each { File d -> d.deleteDir() }
        }
    }

    // -- sh ----------------------------------------------------------------------------------------
    Object sh(String script) { sh([script: script]) }

    Object sh(Map args) {
        File cwd = World.cwd('sh')
        File tmp = new File(World.node().workspace + "@tmp/durable-${UUID.randomUUID().toString()[0..7]}")
        tmp.mkdirs()
        File scriptFile = new File(tmp, 'script.sh')
        scriptFile.text = args.script
        Map env = World.environment()
        World.event([type: 'sh', script: args.script, secrets: env.keySet().findAll { String k ->
            k in ['BLUEGREEN_SECRET_FILE', 'JENKINS_API_TOKEN', 'JENKINS_USER'] }.sort()])
        ProcessBuilder pb = new ProcessBuilder(['sh', '-xe', scriptFile.path])
        pb.directory(cwd)
        pb.environment().clear()
        pb.environment().putAll((Map<String, String>) (World.spec.agentEnv ?: [:]))
        env.each { k, v -> if (v != null) { pb.environment()[k as String] = v as String } }
        pb.redirectErrorStream(!args.returnStdout)
        Process proc = pb.start()
        World.running << proc
        StringBuilder out = new StringBuilder()
        Thread reader = Thread.start {
            proc.inputStream.eachLine('UTF-8') { String line -> args.returnStdout ? out.append(line).append('\n') : World.say(line) }
        }
        Thread errors = args.returnStdout ? Thread.start { proc.errorStream.eachLine('UTF-8') { String line -> World.say(line) } } : null
        String cause = null
        while (!proc.waitFor(200, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            cause = World.controller.interrupted() ?: World.timeoutExpired()
            if (cause) { kill(proc) }
        }
        reader.join()
        errors?.join()
        World.running.remove(proc)
        tmp.deleteDir()
        if (cause) { throw PipelineError.aborted(cause) }
        int code = proc.exitValue()
        if (args.returnStatus) { return code }
        if (code != 0) { throw new PipelineError("script returned exit code ${code}") }
        return args.returnStdout ? out.toString() : null
    }

    static void kill(Process proc) {
        proc.toHandle().descendants().each { ProcessHandle h -> h.destroy() }
        proc.destroy()
    }

    // -- publishing --------------------------------------------------------------------------------
    void archiveArtifacts(Object args) {
        Map a = args instanceof Map ? args : [artifacts: args]
        List files = matching(World.cwd('archiveArtifacts'), a.artifacts as String, a.excludes as String)
        File into = new File(World.spec.artifacts as String, String.valueOf(World.number))
        files.each { Path rel -> copy(World.cwd('archiveArtifacts').toPath().resolve(rel), new File(into, rel.toString())) }
        World.event([type: 'archive', pattern: a.artifacts, files: files*.toString()])
        if (!files && !a.allowEmptyArchive) {
            throw new PipelineError("No artifacts found that match the file pattern \"${a.artifacts}\". Configuration error?")
        }
    }

    void junit(Object args) {
        Map a = args instanceof Map ? args : [testResults: args]
        File root = World.cwd('junit')
        List found = matching(root, a.testResults as String, null)
        List used = found.findAll { Path rel ->
            !a.skipOldReports || root.toPath().resolve(rel).toFile().lastModified() >= World.started - 3000
        }
        int failed = used.sum(0) { Path rel ->
            Node suite = new XmlParser().parse(root.toPath().resolve(rel).toFile())
            List suites = suite.name() == 'testsuites' ? suite.children() : [suite]
            suites.sum(0) { Node s -> ((s.@failures ?: '0') as int) + ((s.@errors ?: '0') as int) }
        } as int
        World.event([type: 'junit', pattern: a.testResults, files: used*.toString(), failed: failed])
        if (!used && !a.allowEmptyResults) {
            throw new PipelineError('No test report files were found. Configuration error?')
        }
        if (failed && !a.skipMarkingBuildUnstable) { World.worsen('UNSTABLE') }
    }

    void publishHTML(Map args) {
        Map t = args.target
        File dir = new File(World.cwd('publishHTML'), t.reportDir as String)
        boolean present = new File(dir, t.reportFiles as String).exists()
        if (present) {
            File into = new File(World.spec.root as String, "htmlreports/${World.number}/${t.reportName}")
            into.deleteDir()
            dir.eachFileRecurse { File f -> if (f.isFile()) { copy(f.toPath(), new File(into, dir.toPath().relativize(f.toPath()).toString())) } }
        } else if (!t.allowMissing) {
            throw new PipelineError("Specified HTML directory '${dir}' does not exist.")
        }
        World.event([type: 'publishHTML', dir: t.reportDir, files: t.reportFiles, name: t.reportName, present: present])
    }

    void stash(Map args) {
        File root = World.cwd('stash')
        List files = matching(root, (args.includes ?: '**') as String, args.excludes as String)
        if (!files && !args.allowEmpty) { throw new PipelineError("No files included in stash ‘${args.name}’") }
        File into = new File(World.spec.root as String, "stashes/${World.number}/${args.name}")
        into.deleteDir()
        files.each { Path rel -> copy(root.toPath().resolve(rel), new File(into, rel.toString())) }
        World.event([type: 'stash', name: args.name, files: files*.toString()])
        World.say("Stashed ${files.size()} file(s)")
    }

    void unstash(Object args) {
        String name = args instanceof Map ? args.name : args
        File from = new File(World.spec.root as String, "stashes/${World.number}/${name}")
        if (!from.isDirectory()) { throw new PipelineError("No such saved stash ‘${name}’") }
        File root = World.cwd('unstash')
        from.eachFileRecurse { File f -> if (f.isFile()) { copy(f.toPath(), new File(root, from.toPath().relativize(f.toPath()).toString())) } }
        World.event([type: 'unstash', name: name])
    }

    static void copy(Path from, File to) {
        to.parentFile.mkdirs()
        Files.copy(from, to.toPath(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES)
    }

    // Ant-style patterns (comma-separated) as archiveArtifacts, stash and junit take them.
    static List matching(File root, String includes, String excludes) {
        Closure matchers = { String patterns ->
            (patterns ?: '').split(',')*.trim().findAll { it }.collect { String p ->
                FileSystems.default.getPathMatcher("glob:${p.endsWith('/') ? p + '**' : p}")
            }
        }
        List inc = matchers(includes)
        List exc = matchers(excludes)
        List found = []
        if (!root.isDirectory()) { return found }
        root.eachFileRecurse { File f ->
            Path rel = root.toPath().relativize(f.toPath())
            if (f.isFile() && inc.any { PathMatcher m -> m.matches(rel) } && !exc.any { PathMatcher m -> m.matches(rel) }) {
                found << rel
            }
        }
        return found.sort { Path p -> p.toString() }
    }
}

// `env` as pipelines see it: the build's variables under withEnv/withCredentials/node layers;
// assigning sets a build-wide variable (as `env.X = ...` does in Jenkins).
class EnvView {
    Object getProperty(String name) { World.environment()[name] }

    void setProperty(String name, Object value) { World.env[name] = value == null ? null : String.valueOf(value) }

    Object getAt(String name) { getProperty(name) }
}
