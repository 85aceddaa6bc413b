/* Reference for bench/extract.sh: libxml2's HTML parse alone (what lathe-ingest's extraction
   stands on), over the files named on the command line, one after another on one core. */
#include <libxml/HTMLparser.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    xmlInitParser();
    int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                  HTML_PARSE_COMPACT | HTML_PARSE_NODEFDTD | HTML_PARSE_IGNORE_ENC;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { perror(argv[i]); return 1; }
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = malloc(n);
        if (fread(buf, 1, n, f) != (size_t)n) { perror(argv[i]); return 1; }
        fclose(f);
        htmlDocPtr doc = htmlReadMemory(buf, (int)n, NULL, "UTF-8", options);
        if (doc) xmlFreeDoc(doc);
        free(buf);
    }
    return 0;
}
