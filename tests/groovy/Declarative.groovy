// Declarative Pipeline as pipeline-model-definition runs it (ModelInterpreter.evaluateStage and
// RuntimeASTTransformer), for what the shared Jenkinsfile uses:
// - the pipeline block is turned into a model when the build starts: options and their
//   arguments (`lock(resource: ...)`) are evaluated then, before `environment` is applied;
//   `when`, `agent`, `environment` and `steps` stay closures for later;
// - a stage runs: [when, if beforeOptions] -> options (lock, timeout: wrappers) -> [when, if
//   beforeInput] -> [when, if beforeAgent] -> agent (a node, with the implicit checkout) ->
//   when -> environment -> steps or nested stages -> post. So a skipped stage has still waited
//   for its lock and its executor unless `when` comes first;
// - after a failure the remaining stages are skipped; post conditions see the build's result;
// - `agent none` at the top: stages without their own agent run on no node at all.

class Declarative {
    static List names = []
    final Steps script

    Declarative(Steps script) { this.script = script }

    static String currentStage() { names ? names[-1] : null }

    static void apply(Closure body, Object delegate) {
        body.delegate = delegate
        body.resolveStrategy = Closure.DELEGATE_FIRST
        body.call()
    }

    void run(Closure body) {
        RootSpec root = new RootSpec()
        apply(body, root)   // the model, built when the build starts
        root.parameters.each { Map p -> if (!World.params.containsKey(p.name)) { World.params[p.name] = p.value } }
        root.options.findAll { Map o -> o.name in ['buildDiscarder', 'disableConcurrentBuilds', 'preserveStashes'] }
            .each { Map o -> World.event([type: 'property', name: o.name, args: o.args]) }
        Throwable first = null
        try {
            inAgent(root.agent, root.options) {
                script.withEnv(root.environment.collect { k, v -> "${k}=${v}" }) {
                    wrapped(root.options) {
                        first = sequential(root.stages, null, root.options)
                        post(root.post, first)
                    }
                }
            }
        } catch (PipelineError e) {
            first = first ?: e
        }
        if (first) {
            World.worsen(first instanceof PipelineError ? first.result : 'FAILURE')
            World.event([type: 'error', message: first.message])
            World.say("ERROR: ${first.message}")
            World.say("Finished: ${World.currentBuild.result}")
        }
    }

    Throwable sequential(List stages, Throwable first, List rootOptions) {
        Throwable error = first
        stages.each { StageSpec s -> error = stage(s, error, rootOptions) }
        return error
    }

    Throwable stage(StageSpec s, Throwable first, List rootOptions) {
        names << s.name
        try {
            if (first) {
                World.event([type: 'stage', name: s.name, skipped: 'failure'])
                return first
            }
            WhenSpec when = s.when
            boolean passed = when == null
            Closure check = { Object now -> if (!passed && now) { passed = when.passes() }; passed || !now }
            if (check(when?.beforeOptions)) {
                wrapped(s.options) {
                    if (check(when?.beforeInput) && check(when?.beforeAgent)) {
                        inAgent(s.agent, rootOptions) {
                            if (check(true)) { body(s, rootOptions) }
                        }
                    }
                }
            }
            if (!passed) {
                World.event([type: 'stage', name: s.name, skipped: 'when'])
                World.say("Stage \"${s.name}\" skipped due to when conditional")
            }
            return null
        } catch (PipelineError e) {
            World.event([type: 'stage-failed', name: s.name, message: e.message, result: e.result])
            return e
        } finally {
            names.remove(names.size() - 1)
        }
    }

    void body(StageSpec s, List rootOptions) {
        World.event([type: 'stage', name: s.name])
        World.say("[Pipeline] stage (${s.name})")
        Map env = [:]
        if (s.environment) { apply(s.environment, new EnvironmentSpec(values: env)) }
        script.withEnv(env.collect { k, v -> "${k}=${v}" }) {
            Throwable error = null
            try {
                if (s.stages) {
                    error = sequential(s.stages, null, rootOptions)
                } else if (s.steps) {
                    s.steps.call()
                }
            } catch (PipelineError e) {
                error = e
            }
            error = post(s.post, error)
            if (error) { throw error }
        }
    }

    Throwable post(PostSpec spec, Throwable error) {
        if (spec == null) { return error }
        String result = error ? ((error instanceof PipelineError) ? error.result : 'FAILURE') : World.currentBuild.result
        List order = [['always', true], ['success', result == 'SUCCESS'], ['unstable', result == 'UNSTABLE'],
                      ['failure', result == 'FAILURE'], ['aborted', result == 'ABORTED'], ['cleanup', true]]
        Throwable outcome = error
        order.each { List c ->
            Closure block = spec.conditions[c[0]]
            if (block && c[1]) {
                World.event([type: 'post', condition: c[0]])
                try {
                    block.call()
                } catch (PipelineError e) {
                    outcome = outcome ?: e
                }
            }
        }
        return outcome
    }

    // options: lock, timeout and timestamps wrap the stage, outermost first, as declared
    Object wrapped(List options, Closure body) {
        List wrappers = options.findAll { Map o -> o.name in ['lock', 'timeout', 'timestamps', 'retry'] }
        if (!wrappers) { return body.call() }
        Map o = wrappers[0]
        Closure inner = { wrapped(wrappers.drop(1), body) }
        return o.args == null ? script."${o.name}"(inner) : script."${o.name}"(o.args, inner)
    }

    Object inAgent(AgentSpec agent, List rootOptions, Closure body) {
        if (agent == null || agent.none) { return body.call() }
        return script.node(agent.label) {
            if (!rootOptions.any { Map o -> o.name == 'skipDefaultCheckout' }) { checkout() }
            body.call()
        }
    }

    // Declarative: Checkout SCM, as git does it: tracked files are rewritten, the rest stays.
    void checkout() {
        File from = new File(World.spec.scm as String)
        File ws = World.cwd('checkout')
        from.eachFileRecurse { File f ->
            if (f.isFile()) { Steps.copy(f.toPath(), new File(ws, from.toPath().relativize(f.toPath()).toString())) }
        }
        World.event([type: 'checkout', workspace: ws.path])
    }
}

class RootSpec {
    AgentSpec agent
    List options = []
    List parameters = []
    Map environment = [:]
    List stages = []
    PostSpec post

    Object getAny() { new AgentSpec() }
    Object getNone() { new AgentSpec(none: true) }
    void agent(AgentSpec spec) { agent = spec }
    void agent(Closure body) { agent = AgentSpec.from(body) }
    void options(Closure body) { Declarative.apply(body, new OptionsSpec(list: options)) }
    void parameters(Closure body) { Declarative.apply(body, new ParametersSpec(list: parameters)) }
    void environment(Closure body) { Declarative.apply(body, new EnvironmentSpec(values: environment)) }
    void stages(Closure body) { Declarative.apply(body, new StagesSpec(list: stages)) }
    void post(Closure body) { post = PostSpec.from(body) }
}

class AgentSpec {
    boolean none
    String label

    static AgentSpec from(Closure body) {
        AgentSpec spec = new AgentSpec()
        Declarative.apply(body, spec)
        return spec
    }

    void label(String value) { label = value }
}

class OptionsSpec {
    List list

    Map logRotator(Map args) { [logRotator: args] }

    Object methodMissing(String name, Object args) {
        Object[] a = (Object[]) args
        list << [name: name, args: a.length == 0 ? null : a[0]]
        return null
    }
}

class ParametersSpec {
    List list
    void choice(Map args) { list << [name: args.name, value: args.choices[0]] }
    void string(Map args) { list << [name: args.name, value: args.defaultValue] }
    void text(Map args) { list << [name: args.name, value: args.defaultValue] }
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
        Declarative.apply(body, spec)
        list << spec
    }
}

class StageSpec {
    String name
    WhenSpec when
    AgentSpec agent
    List options = []
    List stages = []
    Closure environment
    Closure steps
    PostSpec post

    Object getAny() { new AgentSpec() }
    Object getNone() { new AgentSpec(none: true) }
    void agent(AgentSpec spec) { agent = spec }
    void agent(Closure body) { agent = AgentSpec.from(body) }
    void options(Closure body) { Declarative.apply(body, new OptionsSpec(list: options)) }
    void stages(Closure body) { Declarative.apply(body, new StagesSpec(list: stages)) }
    void environment(Closure body) { environment = body }
    void steps(Closure body) { steps = body }
    void post(Closure body) { post = PostSpec.from(body) }
    void input(Closure body) { throw new PipelineError("the harness does not model the stage-level input directive (${name})") }

    void when(Closure body) {
        when = new WhenSpec()
        Declarative.apply(body, when)
    }
}

class WhenSpec {
    boolean beforeOptions
    boolean beforeInput
    boolean beforeAgent
    List conditions = []

    void beforeOptions(boolean value) { beforeOptions = value }
    void beforeInput(boolean value) { beforeInput = value }
    void beforeAgent(boolean value) { beforeAgent = value }
    void expression(Closure body) { conditions << body }

    void branch(String pattern) {
        conditions << {
            String name = World.environment().BRANCH_NAME
            name != null && java.nio.file.FileSystems.default.getPathMatcher("glob:${pattern}").matches(java.nio.file.Paths.get(name))
        }
    }

    boolean passes() {
        return conditions.every { Closure c -> c.call() }
    }
}

class PostSpec {
    Map conditions = [:]

    static PostSpec from(Closure body) {
        PostSpec spec = new PostSpec()
        Declarative.apply(body, spec)
        return spec
    }

    Object methodMissing(String name, Object args) {
        conditions[name] = ((Object[]) args)[0]
        return null
    }
}
