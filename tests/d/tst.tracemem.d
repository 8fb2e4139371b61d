/* mem: 0x2000 "hello, tracemem world!" */
/* fire: pid$target:a.out:work:entry arg0=0x2000 arg1=5 */
/* tracemem's dump as dtrace prints raw bytes; a third argument shortens it */
pid$target:a.out:work:entry { tracemem(arg0, 23); tracemem(arg0, 16, arg1); }
