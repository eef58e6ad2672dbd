/*
 * broker-sandbox.c: who the broker runs as, and what it may do once set up
 * (docs/broker.md, "Sandbox").
 *
 * Started as root, it becomes broker_user with the relay group and no
 * other groups. Installed setuid broker_user, it makes its real ids equal
 * to its effective ones. Either way it then checks that no way back to
 * the old ids is left.
 *
 * After setup it cannot gain privileges (PR_SET_NO_NEW_PRIVS), cannot be
 * traced or dump core, holds few descriptors, and a seccomp filter allows
 * only the system calls the event loop, SQLite (in the children that make
 * registry calls), the recording and syslog make; anything else kills the
 * process. The filter is synchronised to every thread (the recording's
 * writer and sync threads, broker-record.c, exist by then), and those
 * threads need no call the loop does not make already. Sanitizer builds
 * need a few more calls (their runtime maps memory, and the leak checker
 * stops threads with ptrace at exit): those are added only when the
 * compiler says the build is instrumented (BROKER_SANITIZED).
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "broker.h"

static int
sandbox_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	if (gid != NULL)
		*gid = pw->pw_gid;
	return 0;
}

int
sandbox_identity(struct broker *b, char *err, size_t errlen)
{
	struct group	*gr;
	uid_t		 uid, ruid, euid, suid;
	gid_t		 gid, rgid, egid, sgid;

	if (sandbox_user(b->cfg.customer_user, &b->customer_uid, NULL) != 0) {
		snprintf(err, errlen, "no account %s (customer_user)",
		    b->cfg.customer_user);
		return -1;
	}
	if (sandbox_user(b->cfg.engineer_user, &b->engineer_uid, NULL) != 0) {
		snprintf(err, errlen, "no account %s (engineer_user)",
		    b->cfg.engineer_user);
		return -1;
	}
	if ((gr = getgrnam(b->cfg.relay_group)) == NULL) {
		snprintf(err, errlen, "no group %s (relay_group)",
		    b->cfg.relay_group);
		return -1;
	}
	b->relay_gid = gr->gr_gid;
	/* A producer's connection is opened by tunl-authority admit. */
	if ((gr = getgrnam(b->cfg.key_group)) == NULL) {
		snprintf(err, errlen, "no group %s (key_group)",
		    b->cfg.key_group);
		return -1;
	}
	b->key_gid = gr->gr_gid;

	if (geteuid() == 0) {
		if (sandbox_user(b->cfg.broker_user, &uid, NULL) != 0) {
			snprintf(err, errlen, "no account %s (broker_user)",
			    b->cfg.broker_user);
			return -1;
		}
		if (uid == 0) {
			snprintf(err, errlen, "broker_user must not be root");
			return -1;
		}
		gid = b->relay_gid;
		if (setgroups(1, &gid) == -1 ||
		    setresgid(gid, gid, gid) == -1 ||
		    setresuid(uid, uid, uid) == -1) {
			snprintf(err, errlen, "cannot become %s: %s",
			    b->cfg.broker_user, strerror(errno));
			return -1;
		}
	} else if (getuid() != geteuid() || getgid() != getegid()) {
		uid = geteuid();
		gid = getegid();
		if (setresgid(gid, gid, gid) == -1 ||
		    setresuid(uid, uid, uid) == -1) {
			snprintf(err, errlen, "cannot set real ids: %s",
			    strerror(errno));
			return -1;
		}
	}
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1 ||
	    ruid != euid || euid != suid || rgid != egid || egid != sgid ||
	    euid == 0) {
		snprintf(err, errlen, "ids did not settle (uid %ld/%ld/%ld)",
		    (long)ruid, (long)euid, (long)suid);
		return -1;
	}
	if (setuid(0) != -1 || setgid(0) != -1) {
		snprintf(err, errlen, "could regain root");
		return -1;
	}
	return 0;
}

/* What the loop needs once set up; found with strace over the tests. */
static const char *const sandbox_calls[] = {
	/* The loop and its sockets. */
	"read", "write", "readv", "writev", "close", "ppoll", "poll",
	"accept4", "getsockopt", "shutdown", "fcntl", "rt_sigreturn",
	"rt_sigprocmask", "clock_gettime", "gettimeofday", "time",
	"clock_nanosleep", "nanosleep", "restart_syscall", "exit",
	"exit_group", "getpid", "gettid", "getuid", "geteuid", "getrandom",
	/* Memory. */
	"brk", "mmap", "munmap", "mremap", "madvise", "futex",
	/* SQLite and the recording. */
	"openat", "fstat", "newfstatat", "lstat", "stat", "statx",
	"lseek", "pread64", "pwrite64", "fsync", "fdatasync", "ftruncate",
	"access", "faccessat", "faccessat2", "getcwd", "readlink",
	"fchown", "fchmod", "unlink", "unlinkat",
	/* registry_open's umask around SQLite's opening (lib/registry.c). */
	"umask",
	/* The spool of registry writes (lib/spool.c): its lock, its rewrite. */
	"flock", "rename", "renameat", "renameat2",
	/* syslog(3) reconnects if its socket goes away. */
	"connect", "sendto", "send",
	/*
	 * Registry calls run in children (broker-registry.c): a pipe for
	 * the answer, and the child reaped. fork's clone is allowed below
	 * with fork's flags only; never execve. glibc's fork registers the
	 * child's robust futex list again.
	 */
	"pipe2", "wait4", "set_robust_list",
	/* A registry child's deadline (its own timer: alarm(2)). */
	"alarm", "setitimer",
};

/* The sanitizers' runtime, and LeakSanitizer at exit. */
static const char *const sandbox_calls_sanitized[] = {
	"mprotect", "sigaltstack", "rt_sigaction", "sched_yield",
	"sched_getaffinity", "clone", "clone3", "ptrace", "wait4", "prctl",
	"tgkill", "kill", "getppid", "set_robust_list", "rseq", "pipe2",
	"dup2", "dup3", "uname", "open", "readlinkat", "getdents", "getdents64",
	"setrlimit", "prlimit64", "getrlimit", "process_vm_readv",
};

static int
sandbox_seccomp(char *err, size_t errlen)
{
	struct scmp_arg_cmp	 unix_only = { .arg = 0, .op = SCMP_CMP_EQ,
	    .datum_a = AF_UNIX, .datum_b = 0 };
	/* fork(3) as glibc makes it: a new process, no shared memory. */
	struct scmp_arg_cmp	 fork_only = { .arg = 0, .op = SCMP_CMP_EQ,
	    .datum_a = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD,
	    .datum_b = 0 };
	scmp_filter_ctx		 ctx;
	size_t			 i;
	int			 nr, rc;

	if ((ctx = seccomp_init(BROKER_SANITIZED ? SCMP_ACT_ERRNO(ENOSYS) :
	    SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/*
	 * Every thread gets the filter, the recording's threads (made
	 * before this) too; the kernel refuses the load rather than leave
	 * one out, and gives them the caller's no_new_privs as well.
	 */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		goto fail;
	for (i = 0; i < TUNL_NITEMS(sandbox_calls); i++) {
		if ((nr = seccomp_syscall_resolve_name(sandbox_calls[i])) ==
		    __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0)
			goto fail;
	}
	/* New sockets: only the AF_UNIX datagram socket syslog uses. */
	if ((rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket),
	    1, &unix_only)) < 0)
		goto fail;
	/* Children for registry calls: fork only, not threads or clone3. */
	if ((rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone),
	    1, &fork_only)) < 0)
		goto fail;
	if (BROKER_SANITIZED) {
		for (i = 0; i < TUNL_NITEMS(sandbox_calls_sanitized); i++) {
			if ((nr = seccomp_syscall_resolve_name(
			    sandbox_calls_sanitized[i])) == __NR_SCMP_ERROR)
				continue;
			if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr,
			    0)) < 0)
				goto fail;
		}
	}
	if ((rc = seccomp_load(ctx)) < 0)
		goto fail;
	seccomp_release(ctx);
	return 0;
 fail:
	snprintf(err, errlen, "seccomp: %s", strerror(-rc));
	seccomp_release(ctx);
	return -1;
}

int
sandbox_enter(struct broker *b, char *err, size_t errlen)
{
	struct rlimit	 rl;
	rlim_t		 nofile;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		snprintf(err, errlen, "prctl: %s", strerror(errno));
		return -1;
	}
	rl.rlim_cur = rl.rlim_max = 0;
	if (!BROKER_SANITIZED && setrlimit(RLIMIT_CORE, &rl) == -1) {
		snprintf(err, errlen, "RLIMIT_CORE: %s", strerror(errno));
		return -1;
	}
	/* Every peer, the listener, the lock, SQLite, the recording, log. */
	nofile = (rlim_t)b->cfg.max_consumers + BROKER_NEW_MAX + 32;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max > nofile) {
		rl.rlim_cur = rl.rlim_max = nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			snprintf(err, errlen, "RLIMIT_NOFILE: %s",
			    strerror(errno));
			return -1;
		}
	}
	return sandbox_seccomp(err, errlen);
}

/*
 * At a clean exit of a sanitizer build only: LeakSanitizer reads
 * /proc/self/task and attaches to the process, which a non-dumpable
 * process forbids. Release builds stay non-dumpable to the end.
 */
void
sandbox_leave(void)
{
	if (BROKER_SANITIZED)
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}
