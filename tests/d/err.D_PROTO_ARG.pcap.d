BEGIN { pcap(0, "a"); }
