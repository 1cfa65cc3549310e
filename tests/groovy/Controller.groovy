// The build's line to the Jenkins controller (tests/helpers/fake_jenkins.py): executors, locks,
// milestones, inputs, interruption. Waits poll with a short sleep and stop when the build is
// interrupted or the innermost `timeout` block runs out.

import groovy.json.JsonOutput
import groovy.json.JsonSlurper

class Controller {
    String url
    int build

    Map call(String service, Map body = [:]) {
        HttpURLConnection c = (HttpURLConnection) new URL("${url}harness/${service}").openConnection()
        c.requestMethod = 'POST'
        c.doOutput = true
        c.setRequestProperty('Content-Type', 'application/json')
        c.outputStream.withWriter('UTF-8') { Writer w -> w << JsonOutput.toJson([build: build] + body) }
        return (Map) new JsonSlurper().parse(c.inputStream)
    }

    String interrupted() {
        return call('build/status').interrupted
    }

    // Polls until `ready` answers something truthy; throws when the build is interrupted or a
    // surrounding timeout expires, after calling `giveUp`.
    Object waitFor(String what, Closure ready, Closure giveUp = { }) {
        while (true) {
            Object answer = ready()
            if (answer) { return answer }
            String cause = interrupted() ?: World.timeoutExpired()
            if (cause) {
                giveUp()
                throw PipelineError.aborted("${cause} (while waiting for ${what})")
            }
            Thread.sleep(50)
        }
    }
}
