<?php
/**
 * A small client for the wasmdesk bridge (docs/bridge.md): one long-lived
 * `wasmdesk bridge` process, JSON lines in and out.
 */

/** An error response from the bridge; `errorCode` is the stable code. */
class WasmdeskException extends RuntimeException
{
    /** @var string bad_request, unknown_op, capability_denied, plugin_fault, ... */
    public $errorCode;

    public function __construct(string $errorCode, string $message)
    {
        parent::__construct($message);
        $this->errorCode = $errorCode;
    }
}

class WasmdeskClient
{
    private $process;
    private $stdin;
    private $stdout;
    private $nextId = 1;
    private $caller = null;
    /** Seconds to wait for an answer (a plugin's own deadline is 5 s by default). */
    public $timeoutSeconds = 60;

    /**
     * @param string $binary path to the wasmdesk binary
     * @param string $site   path to the site folder
     * @param string|null $errorLog where the bridge's own warnings go (default: a
     *                    file in the system temp folder); responses never go there
     */
    public function __construct(string $binary, string $site, ?string $errorLog = null)
    {
        if (!is_executable($binary)) {
            throw new WasmdeskException('internal', "wasmdesk binary not found or not executable: $binary");
        }
        $command = [$binary, '--site', $site, 'bridge'];
        $errorLog = $errorLog ?? sys_get_temp_dir() . '/wasmdesk-bridge.log';
        // stderr goes to a file: a pipe nobody reads could fill up and stall
        // the bridge.
        $descriptors = [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['file', $errorLog, 'a']];
        $this->process = proc_open($command, $descriptors, $pipes);
        if (!is_resource($this->process)) {
            throw new WasmdeskException('internal', "cannot start $binary");
        }
        [$this->stdin, $this->stdout] = $pipes;
    }

    /**
     * Name who the following requests come from, as your CMS knows them
     * (e.g. "wp:user:12"): wasmdesk records it in its audit log. null sends
     * none (the bridge's --caller applies).
     */
    public function setCaller(?string $caller): void
    {
        $this->caller = $caller;
    }

    /**
     * Run an op ("tickets.create", "site.info", ...) and return its result.
     *
     * @throws WasmdeskException with the bridge's error code
     */
    public function call(string $op, array $args = [])
    {
        $id = $this->nextId++;
        $request = ['id' => $id, 'op' => $op, 'args' => (object) $args];
        if ($this->caller !== null) {
            $request['caller'] = $this->caller;
        }
        // Never a blank line: input PHP cannot encode (invalid UTF-8, NAN)
        // is refused here, with the reason.
        $request = json_encode($request, JSON_UNESCAPED_SLASHES);
        if ($request === false) {
            throw new WasmdeskException('bad_request', 'cannot encode the request as JSON: ' . json_last_error_msg());
        }
        if (fwrite($this->stdin, $request . "\n") === false) {
            throw new WasmdeskException('internal', 'the wasmdesk bridge is not running');
        }
        fflush($this->stdin);
        // A bridge that does not answer in time is reported, not waited on.
        stream_set_timeout($this->stdout, $this->timeoutSeconds);
        $line = fgets($this->stdout);
        if ($line === false) {
            $meta = stream_get_meta_data($this->stdout);
            if (!empty($meta['timed_out'])) {
                throw new WasmdeskException('timeout', "the wasmdesk bridge did not answer within {$this->timeoutSeconds} s");
            }
            throw new WasmdeskException('internal', 'the wasmdesk bridge closed its output (is the site path right?)');
        }
        $response = json_decode($line, true);
        if (!is_array($response) || ($response['id'] ?? null) !== $id) {
            throw new WasmdeskException('internal', 'unexpected bridge response: ' . trim($line));
        }
        if (!$response['ok']) {
            throw new WasmdeskException($response['error']['code'], $response['error']['message']);
        }
        return $response['result'];
    }

    public function close(): void
    {
        if (is_resource($this->stdin)) {
            fclose($this->stdin);
        }
        if (is_resource($this->stdout)) {
            fclose($this->stdout);
        }
        if (is_resource($this->process)) {
            proc_close($this->process);
        }
    }

    public function __destruct()
    {
        $this->close();
    }
}
