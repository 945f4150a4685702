// System calls the fault-free relay needs that Swift's Glibc module does not export
// (epoll, eventfd) or exports in a shape Swift cannot call (accept4's transparent union).
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
#endif

#endif
