// The pipeline world for the harness: Jenkins' steps stubbed the way JenkinsPipelineUnit does it,
// with `sh` run for real in the build's workspace. Both the Jenkinsfile and vars/*.groovy are
// compiled with this class as their script base class.

import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import org.codehaus.groovy.control.CompilerConfiguration
import java.nio.file.FileSystems
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.PathMatcher
import java.nio.file.StandardCopyOption

class PipelineError extends RuntimeException {
    PipelineError(String message) { super(message) }
}

class World {
    static File workspace
    static File artifacts
    static Map params = [:]
    static Map env = [:]
    static Map credentials = [:]
    static Map currentBuild = [description: null, result: 'SUCCESS', number: 0]
    static List events = []
    static List envLayers = []
    static StringBuilder console = new StringBuilder()

    static void event(Map e) {
        events << e
    }

    static void say(String line) {
        console.append(line).append('\n')
        System.out.println(line)
    }
}

abstract class PipelineScript extends Script {

    Map getParams() { World.params }
    Map getEnv() { World.env }
    Map getCurrentBuild() { World.currentBuild }

    // -- declarative -------------------------------------------------------------------------
    void pipeline(Closure body) {
        PipelineSpec spec = new PipelineSpec()
        applyDsl(body, spec)
        spec.parameters.each { p -> if (!World.params.containsKey(p.name)) { World.params[p.name] = p.value } }
        World.env.putAll(spec.environment)
        try {
            spec.stages.each { StageSpec stage -> runStage(stage) }
        } catch (PipelineError e) {
            World.currentBuild.result = 'FAILURE'
            World.event([type: 'error', message: e.message])
            World.say("ERROR: ${e.message}")
        } finally {
            World.event([type: 'post', condition: 'always'])
            if (spec.postAlways) { spec.postAlways.call() }
        }
    }

    void runStage(StageSpec stage) {
        if (stage.when && !stage.when.call()) {
            World.event([type: 'stage', name: stage.name, skipped: true])
            return
        }
        World.event([type: 'stage', name: stage.name])
        World.say("[Pipeline] stage (${stage.name})")
        stage.options.each { Map o -> World.event([type: 'option', stage: stage.name] + o) }
        if (stage.stages) {
            stage.stages.each { StageSpec inner -> runStage(inner) }
        } else if (stage.steps) {
            stage.steps.call()
        }
    }

    static void applyDsl(Closure body, Object delegate) {
        body.delegate = delegate
        body.resolveStrategy = Closure.DELEGATE_FIRST
        body.call()
    }

    // -- steps ------------------------------------------------------------------------------
    void script(Closure body) { body.call() }

    void echo(Object message) { World.say(String.valueOf(message)) }

    void error(String message) { throw new PipelineError(message) }

    void milestone(Map args) { World.event([type: 'milestone', ordinal: args.ordinal]) }

    Object timeout(Map args, Closure body) {
        World.event([type: 'timeout', time: args.time, unit: args.unit])
        return body.call()
    }

    Object input(Map args) {
        World.event([type: 'input', message: args.message, approved: true])
        World.say("[Pipeline] input: ${args.message} -> approved")
        return null
    }

    Object withEnv(List vars, Closure body) {
        World.envLayers.add(vars.collectEntries { String v -> int i = v.indexOf('='); [(v.substring(0, i)): v.substring(i + 1)] })
        try {
            return body.call()
        } finally {
            World.envLayers.remove(World.envLayers.size() - 1)
        }
    }

    Map file(Map args) { [kind: 'file'] + args }

    Map usernamePassword(Map args) { [kind: 'usernamePassword'] + args }

    Object withCredentials(List bindings, Closure body) {
        Map vars = [:]
        bindings.each { Map b ->
            Object value = World.credentials[b.credentialsId]
            if (value == null) { throw new PipelineError("credentials '${b.credentialsId}' not found") }
            if (b.kind == 'file') {
                vars[b.variable] = value
            } else {
                vars[b.usernameVariable] = value.username
                vars[b.passwordVariable] = value.password
            }
            World.event([type: 'credentials', id: b.credentialsId])
        }
        World.envLayers.add(vars)
        try {
            return body.call()
        } finally {
            World.envLayers.remove(World.envLayers.size() - 1)
        }
    }

    Object sh(Map args) {
        String script = args.script
        World.event([type: 'sh', script: script])
        ProcessBuilder pb = new ProcessBuilder(['bash', '-c', script])
        pb.directory(World.workspace)
        pb.redirectErrorStream(!args.returnStdout)
        Map penv = pb.environment()
        World.env.each { k, v -> penv[k as String] = v as String }
        World.envLayers.each { Map layer -> layer.each { k, v -> penv[k as String] = v as String } }
        Process proc = pb.start()
        StringBuilder out = new StringBuilder()
        Thread reader = Thread.start { proc.inputStream.eachLine { String line -> out.append(line).append('\n') } }
        Thread errors = args.returnStdout ? Thread.start { proc.errorStream.eachLine { String line -> World.say(line) } } : null
        int code = proc.waitFor()
        reader.join()
        errors?.join()
        if (!args.returnStdout) { out.toString().eachLine { String line -> World.say(line) } }
        if (args.returnStatus) { return code }
        if (code != 0) { throw new PipelineError("script returned exit code ${code}") }
        return args.returnStdout ? out.toString() : null
    }

    Object sh(String script) { sh([script: script]) }

    boolean fileExists(String path) { new File(World.workspace, path).exists() }

    String readFile(String path) { new File(World.workspace, path).getText('UTF-8') }

    void junit(Map args) {
        List files = matching(args.testResults as String)
        World.event([type: 'junit', pattern: args.testResults, files: files*.toString()])
        if (!files && !args.allowEmptyResults) { throw new PipelineError("no test report files matched ${args.testResults}") }
    }

    void archiveArtifacts(Map args) {
        List files = matching(args.artifacts as String)
        File into = new File(World.artifacts, String.valueOf(World.currentBuild.number))
        files.each { Path rel ->
            File target = new File(into, rel.toString())
            target.parentFile.mkdirs()
            Files.copy(World.workspace.toPath().resolve(rel), target.toPath(), StandardCopyOption.REPLACE_EXISTING)
        }
        World.event([type: 'archive', pattern: args.artifacts, files: files*.toString()])
        if (!files && !args.allowEmptyArchive) { throw new PipelineError("no artifacts matched ${args.artifacts}") }
    }

    void publishHTML(Map args) {
        Map t = args.target
        World.event([type: 'publishHTML', dir: t.reportDir, files: t.reportFiles, name: t.reportName,
                     present: new File(World.workspace, "${t.reportDir}/${t.reportFiles}").exists()])
    }

    List matching(String glob) {
        PathMatcher matcher = FileSystems.default.getPathMatcher("glob:${glob}")
        Path root = World.workspace.toPath()
        List found = []
        root.toFile().eachFileRecurse { File f ->
            Path rel = root.relativize(f.toPath())
            if (f.isFile() && matcher.matches(rel)) { found << rel }
        }
        return found.sort()
    }

    static String json() {
        JsonOutput.toJson([events: World.events, description: World.currentBuild.description,
                           result: World.currentBuild.result, env: World.env])
    }
}

class PipelineSpec {
    List parameters = []
    Map environment = [:]
    List stages = []
    Closure postAlways

    Object getAny() { 'any' }
    void agent(Object any) { }
    void options(Closure body) { }

    void parameters(Closure body) {
        PipelineScript.applyDsl(body, new ParametersSpec(list: parameters))
    }

    void environment(Closure body) {
        PipelineScript.applyDsl(body, new EnvironmentSpec(values: environment))
    }

    void stages(Closure body) {
        PipelineScript.applyDsl(body, new StagesSpec(list: stages))
    }

    void post(Closure body) {
        PostSpec spec = new PostSpec()
        PipelineScript.applyDsl(body, spec)
        postAlways = spec.always
    }
}

class ParametersSpec {
    List list
    void choice(Map args) { list << [name: args.name, value: args.choices[0]] }
    void string(Map args) { list << [name: args.name, value: args.defaultValue] }
    void booleanParam(Map args) { list << [name: args.name, value: args.defaultValue] }
}

class EnvironmentSpec {
    Map values
    void setProperty(String name, Object value) { values[name] = value }
}

class StagesSpec {
    List list
    void stage(String name, Closure body) {
        StageSpec spec = new StageSpec(name: name)
        PipelineScript.applyDsl(body, spec)
        list << spec
    }
}

class StageSpec {
    String name
    Closure when
    List options = []
    List stages = []
    Closure steps

    void when(Closure body) {
        WhenSpec spec = new WhenSpec()
        PipelineScript.applyDsl(body, spec)
        when = spec.condition
    }

    void options(Closure body) {
        PipelineScript.applyDsl(body, new OptionsSpec(list: options))
    }

    void stages(Closure body) {
        PipelineScript.applyDsl(body, new StagesSpec(list: stages))
    }

    void steps(Closure body) { steps = body }
}

class WhenSpec {
    Closure condition
    void expression(Closure body) { condition = body }
}

class OptionsSpec {
    List list
    void lock(Map args) { list << [option: 'lock', resource: args.resource] }
    Object methodMissing(String name, Object args) { list << [option: name]; null }
}

class PostSpec {
    Closure always
    void always(Closure body) { always = body }
}

// -- main: groovy harness.groovy SPEC.json ------------------------------------------------------
// SPEC: {jenkinsfile, vars, workspace, artifacts, build, params, env, credentials, log}
Map spec = new JsonSlurper().parse(new File(args[0]))
World.workspace = new File(spec.workspace as String)
World.artifacts = new File(spec.artifacts as String)
World.params = spec.params ?: [:]
World.env = [BUILD_NUMBER: String.valueOf(spec.build)] + (spec.env ?: [:])
World.credentials = spec.credentials ?: [:]
World.currentBuild.number = spec.build

CompilerConfiguration config = new CompilerConfiguration()
config.scriptBaseClass = 'PipelineScript'
Binding binding = new Binding()
GroovyShell shell = new GroovyShell(this.class.classLoader, binding, config)
new File(spec.vars as String).eachFileMatch(~/.*\.groovy/) { File f ->
    binding.setVariable(f.name - '.groovy', shell.parse(f))
}
String jenkinsfile = new File(spec.jenkinsfile as String).text.replaceAll(/(?m)^@Library\(.*$/, '')
Script pipeline = shell.parse(jenkinsfile, 'Jenkinsfile')
pipeline.run()

File buildDir = new File(World.artifacts, String.valueOf(spec.build))
buildDir.mkdirs()
new File(buildDir, '.build.json').text = groovy.json.JsonOutput.toJson(
    [number: spec.build, result: World.currentBuild.result, description: World.currentBuild.description])
new File(spec.log as String).text = PipelineScript.json()
new File((spec.log as String) + '.console').text = World.console.toString()
System.exit(World.currentBuild.result == 'SUCCESS' ? 0 : 1)
