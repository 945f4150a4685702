// System calls the fault-free relay needs that Swift's Glibc module does not export
// (epoll, eventfd) or exports in a shape Swift cannot call (accept4's transparent union), and
// the process launcher's spawn (glibc's posix_spawn file actions for chdir and closefrom are
// GNU extensions the Glibc module leaves out).
#ifndef CRIFTSYS_H
#define CRIFTSYS_H

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/// accept4 with no peer address, non-blocking and close-on-exec.
int crift_accept(int fd);

#include <sys/types.h>
/// posix_spawn of `path` with `argv` and the current environment, in `directory`, stdin from
/// /dev/null, stdout and stderr appended to `output`, every other descriptor closed, every
/// signal unblocked and at its default. The child's pid in `pid`; 0 or an errno.
int crift_spawn(const char *path, char *const argv[], const char *directory, const char *output, pid_t *pid);
#endif

#endif
