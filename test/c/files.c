/*
 * An ordinary POSIX program that lists, creates, renames and deletes files under a directory,
 * built unchanged natively and for wasm32-wasi: test/c_conformance.test.ts requires the same
 * output from both (issue: "a C program ... runs unchanged").
 *
 * usage: files DIR
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* DIR/name in a fresh buffer (the program is short-lived; nothing is freed). */
static const char *at(const char *dir, const char *name) {
  size_t n = strlen(dir);
  char *buf = malloc(n + strlen(name) + 2);
  sprintf(buf, "%s%s%s", dir, (n && dir[n - 1] == '/') ? "" : "/", name);
  return buf;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *dir, const char *sub) {
  const char *path = at(dir, sub);
  DIR *d = opendir(path);
  if (!d) { printf("opendir %s: %s\n", sub, strerror(errno)); return; }
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  printf("list %s:", sub);
  for (int i = 0; i < n; i++) {
    /* "." and ".." are listed but not examined: the preopen's ".." is outside the sandbox. */
    if (strcmp(names[i], ".") == 0 || strcmp(names[i], "..") == 0) {
      printf(" %s", names[i]);
      continue;
    }
    struct stat st;
    if (lstat(at(path, names[i]), &st)) printf(" %s(%s)", names[i], strerror(errno));
    else if (S_ISREG(st.st_mode)) printf(" %s(file,%lld)", names[i], (long long)st.st_size);
    else printf(" %s(%s)", names[i], S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "other");
    free(names[i]);
  }
  printf("\n");
}

#define TRY(what, expr) printf("%s: %s\n", what, (expr) == 0 ? "ok" : strerror(errno))

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *dir = argv[1];
  TRY("mkdir work", mkdir(at(dir, "work"), 0755));
  TRY("mkdir work again", mkdir(at(dir, "work"), 0755));
  int fd = open(at(dir, "work/a.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644);
  printf("create work/a.txt: %s\n", fd >= 0 ? "ok" : strerror(errno));
  if (fd >= 0) { write(fd, "hello, files\n", 13); close(fd); }
  fd = open(at(dir, "work/a.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644);
  printf("create work/a.txt exclusively again: %s\n", fd >= 0 ? "ok" : strerror(errno));
  TRY("symlink work/l -> a.txt", symlink("a.txt", at(dir, "work/l")));
  list(dir, "work");
  TRY("rename a.txt -> b.txt", rename(at(dir, "work/a.txt"), at(dir, "work/b.txt")));
  TRY("rename missing", rename(at(dir, "work/nope"), at(dir, "work/x")));
  list(dir, "work");
  FILE *f = fopen(at(dir, "work/b.txt"), "r");
  if (f) { char line[64] = {0}; fgets(line, sizeof line, f); fclose(f); printf("read back: %s", line); }
  TRY("rmdir non-empty work", rmdir(at(dir, "work")));
  TRY("unlink work/l", unlink(at(dir, "work/l")));
  TRY("unlink work/b.txt", unlink(at(dir, "work/b.txt")));
  TRY("unlink work/b.txt again", unlink(at(dir, "work/b.txt")));
  TRY("rmdir work", rmdir(at(dir, "work")));
  list(dir, ".");
  return 0;
}
