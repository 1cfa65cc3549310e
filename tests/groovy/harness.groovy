// groovy -cp tests/groovy tests/groovy/harness.groovy SPEC.json: one build of a Jenkinsfile.
// SPEC: {jenkinsfile, vars, jenkins (controller URL), build, params, env, agentEnv,
//        credentials, scm, root, artifacts, log, timeScale, scriptSplitting}
// The Jenkinsfile and vars/*.groovy are compiled with Steps as their base class; `@Library`
// lines are dropped (the harness loads vars/ itself, as the library step would).

import groovy.json.JsonSlurper
import org.codehaus.groovy.ast.ASTNode
import org.codehaus.groovy.ast.builder.AstBuilder
import org.codehaus.groovy.ast.expr.DeclarationExpression
import org.codehaus.groovy.ast.stmt.BlockStatement
import org.codehaus.groovy.ast.stmt.ExpressionStatement
import org.codehaus.groovy.control.CompilePhase
import org.codehaus.groovy.control.CompilerConfiguration

// With SCRIPT_SPLITTING_TRANSFORMATION (RuntimeASTTransformer), Declarative refuses local
// variables at the top of a Jenkinsfile; the shared Jenkinsfile must run with it on or off.
List localVariables(String text) {
    List nodes = new AstBuilder().buildFromString(CompilePhase.CONVERSION, false, text)
    BlockStatement block = (BlockStatement) nodes.find { ASTNode n -> n instanceof BlockStatement }
    return block.statements.findAll { s ->
        s instanceof ExpressionStatement && s.expression instanceof DeclarationExpression &&
            !s.expression.annotations.any { it.classNode.nameWithoutPackage == 'Field' }
    }.collect { s -> s.expression.leftExpression.text }
}

Map spec = new JsonSlurper().parse(new File(args[0]))
World.spec = spec
World.number = spec.build as int
World.controller = new Controller(url: spec.jenkins, build: World.number)
World.params = spec.params ?: [:]
World.env = [BUILD_NUMBER: String.valueOf(spec.build), BUILD_ID: String.valueOf(spec.build)] + (spec.env ?: [:])
World.currentBuild.number = spec.build
World.consoleFile = new File((spec.log as String) + '.console')
World.consoleFile.text = ''
Runtime.runtime.addShutdownHook(new Thread({ World.running.each { Process p -> Steps.kill(p) } }))

String text = new File(spec.jenkinsfile as String).text.replaceAll(/(?m)^@Library\(.*$/, '')
CompilerConfiguration config = new CompilerConfiguration()
config.scriptBaseClass = 'Steps'
Binding binding = new Binding()
GroovyShell shell = new GroovyShell(this.class.classLoader, binding, config)
try {
    List locals = spec.scriptSplitting == false ? [] : localVariables(text)
    if (locals) {
        throw new PipelineError('[JENKINS-37984] SCRIPT_SPLITTING_TRANSFORMATION is an experimental feature of ' +
            'Declarative Pipeline and is incompatible with local variable declarations inside a Jenkinsfile. ' +
            "Local variable declarations found: ${locals.sort().join(', ')}.")
    }
    new File(spec.vars as String).eachFileMatch(~/.*\.groovy/) { File f ->
        binding.setVariable(f.name - '.groovy', shell.parse(f))
    }
    shell.parse(text, 'Jenkinsfile').run()
} catch (PipelineError e) {
    World.worsen(e.result)
    World.event([type: 'error', message: e.message])
    World.say("ERROR: ${e.message}")
}

World.controller.call('build/finish', [result: World.currentBuild.result, description: World.currentBuild.description])
new File(spec.log as String).text = World.report()
System.exit(World.currentBuild.result in ['SUCCESS', 'UNSTABLE'] ? 0 : 1)
