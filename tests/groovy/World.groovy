// One build's state: parameters, environment, credentials, the node it runs on, the locks and
// deadlines it is inside, what it recorded. A build is one JVM, so this is static.

import groovy.json.JsonOutput

class World {
    static Map spec
    static Controller controller
    static int number
    static long started = System.currentTimeMillis()
    static Map params = [:]
    static Map env = [:]                 // the build's environment (env.X = ... writes here)
    static List envLayers = []           // withEnv, withCredentials, node: innermost last
    static List nodes = []               // allocated nodes: [name, workspace, executor, ticket]
    static List dirs = []                // dir() inside the current node
    static List deadlines = []           // timeout(): [at: epoch ms, what: ...]
    static List locks = []               // resources held by lock()
    static Map currentBuild = [description: null, result: 'SUCCESS', number: 0]
    static List events = []
    static File consoleFile
    static List running = Collections.synchronizedList([])   // sh processes, killed on interrupt

    static void event(Map e) {
        events << (e + [stage: Declarative.currentStage()])
    }

    static void say(String line) {
        consoleFile?.append(line + '\n', 'UTF-8')
        System.out.println(line)
    }

    static Map node() {
        return nodes ? (Map) nodes[-1] : null
    }

    // The directory steps run in, or the error Jenkins gives outside `node`/`agent`.
    static File cwd(String step) {
        Map n = node()
        if (n == null) {
            throw new PipelineError("Required context class hudson.FilePath is missing\nPerhaps you forgot " +
                "to surround the ${step} step with a step that provides this, such as: node")
        }
        File here = new File(n.workspace as String)
        dirs.each { String d -> here = d.startsWith('/') ? new File(d) : new File(here, d) }
        return here
    }

    static Map environment() {
        Map all = [:]
        all.putAll(env)
        envLayers.each { Map layer -> all.putAll(layer) }
        return all
    }

    static String timeoutExpired() {
        long now = System.currentTimeMillis()
        Map hit = deadlines.find { Map d -> now >= (d.at as long) }
        return hit ? "Timeout has been exceeded (${hit.what})" : null
    }

    static void worsen(String result) {
        List order = ['SUCCESS', 'UNSTABLE', 'FAILURE', 'ABORTED']
        if (order.indexOf(result) > order.indexOf(currentBuild.result)) { currentBuild.result = result }
    }

    static String report() {
        return JsonOutput.toJson([events: events, description: currentBuild.description,
                                  result: currentBuild.result, env: env, params: params])
    }
}
