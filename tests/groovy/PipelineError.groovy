// A step failed (result FAILURE), or the build was interrupted (result ABORTED): Jenkins'
// AbortException and FlowInterruptedException in one class.
class PipelineError extends RuntimeException {
    final String result

    PipelineError(String message, String result = 'FAILURE') {
        super(message)
        this.result = result
    }

    static PipelineError aborted(String cause) {
        return new PipelineError(cause, 'ABORTED')
    }
}
