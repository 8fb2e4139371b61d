/* amin takes dtrace_str2attr's name/data/class. */
#pragma D option amin=Evolving/Sometimes
BEGIN { trace(pid); }
