#define _GNU_SOURCE
#include "CRiftSys.h"

#ifdef __linux__
int crift_accept(int fd) { return accept4(fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC); }
#endif
