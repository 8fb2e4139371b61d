BEGIN { @a = count(); printa("%@d", 5); }
