#ifndef RIFT_CPCAP_SHIM_H
#define RIFT_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
