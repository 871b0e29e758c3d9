"""The tool-script sandbox: what a script from a message can and cannot do on a worker.

Threats seen in production-like tests, and what answers each:

- **Reading the worker's secrets** (`/proc/<worker>/environ` held DATABASE_URL with its
  password and OPENAI_API_KEY). The script gets a clean environment, and the worker makes
  itself non-dumpable at startup (`hardening.make_non_dumpable`, called from
  `workers.agent_executor.__main__` and again before every run), which closes its environ,
  memory and ptrace to processes without CAP_SYS_PTRACE. Root usually has that capability
  (checked on our machines: a root child still reads a non-dumpable parent's environ, a root
  child without capabilities or `nobody` does not), so a root worker runs scripts as
  `nobody` (`access.sandbox_user`), which also denies them root's files and signals. When
  `nobody` cannot reach the interpreter (pyenv under a 0700 /root) the supervisor gives the
  script a private mount namespace in which that directory is a tmpfs showing only the
  interpreter's directories (`access.exposures`); that needs CAP_SYS_ADMIN, which root has
  on those machines. The production image runs as uid 10001 without capabilities: scripts
  keep that uid (it cannot change it), and non-dumpable is what protects the secrets there.
- **Children that outlive the limit** (setsid or a double fork, holding the output pipe).
  Every run has its own supervisor (`supervisor.py`), a child subreaper: orphans of the
  script are re-parented to it, not to init, and when the script exits, times out, exceeds
  the output cap or the worker cancels, it kills its whole subtree (not just a process
  group, which setsid leaves). The script's stdout and stderr are pipes to the supervisor,
  so nothing the script leaves behind can hold the worker's pipes; the worker gives the
  supervisor the time limit plus a backstop and then kills it. If the worker dies, the
  kernel sends the supervisor SIGTERM (PR_SET_PDEATHSIG) and it cleans up.
- **Exhausting the machine.** setrlimit in the script before exec: CPU seconds, address
  space, file size, open files, no core dumps, and RLIMIT_NPROC. NPROC counts every task of
  the uid, the worker's own threads included when scripts share its uid, so the supervisor
  sets it to "tasks that uid has now + `processes`" in the script only: a fork bomb stops
  there while the worker, whose own limit is unchanged, can still start threads. (Root is
  exempt from NPROC, one more reason a root worker runs scripts as `nobody`.) Output is read
  up to a cap and the script is stopped there. no_new_privs keeps setuid binaries from
  lifting any of this.

Known limits: in production the script shares the worker's uid, so it can signal the worker
or its own supervisor (a denial of service of that pod, not a leak; a killed supervisor
leaves the worker to time out and any detached processes to live until the pod goes), and
same-uid processes other than the worker (e.g. a `kubectl exec` shell, which carries the
pod's environment) stay readable. It can write files anywhere its uid may, such as /tmp.
Stronger isolation (its own pod, gVisor) is the answer when scripts are untrusted.
"""
