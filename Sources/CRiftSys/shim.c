#define _GNU_SOURCE
#include "CRiftSys.h"

#ifdef __linux__
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

int crift_accept(int fd) { return accept4(fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC); }

extern char **environ;

int crift_spawn(const char *path, char *const argv[], const char *directory, const char *output, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int err = posix_spawn_file_actions_init(&actions);
    if (err) return err;
    err = posix_spawnattr_init(&attr);
    if (err) { posix_spawn_file_actions_destroy(&actions); return err; }
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if (!err) err = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (!err) err = posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (!err) err = posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (!err) err = posix_spawn_file_actions_addchdir_np(&actions, directory);
    if (!err) err = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (!err) err = posix_spawnattr_setsigmask(&attr, &none);
    if (!err) err = posix_spawnattr_setsigdefault(&attr, &all);
    if (!err) err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!err) err = posix_spawn(pid, path, &actions, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return err;
}
#endif
