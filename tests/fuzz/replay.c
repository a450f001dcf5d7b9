/*
 * replay: runs a fuzz target's LLVMFuzzerTestOneInput on every file of a
 * corpus, without libFuzzer, so that ordinary builds (gcc, and the
 * AddressSanitizer / UndefinedBehaviorSanitizer CI build) keep every input
 * the fuzzers ever found interesting, including those that once crashed.
 *
 *   fuzz_replay_TARGET DIR_OR_FILE...
 *
 * Files are run in name order, each in a child process, so that one
 * failing input (a target reports a failure by aborting, or a sanitizer
 * does, leaks included since the child exits normally) does not hide the
 * others: every failing file is named with how it ended, and the replay
 * exits 1 if any failed. An empty or missing corpus is an error too: a
 * replay that checks nothing must not pass. REPLAY_NO_FORK=1 runs the
 * inputs in this process (for a debugger).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1 << 20) /* libFuzzer's own default -max_len is far below */

/* Reads one input and runs the target on it; 0, or -1 when unreadable. */
static int run_input(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  uint8_t *buf = malloc(REPLAY_MAX_INPUT);
  if (buf == NULL) {
    fclose(f);
    fprintf(stderr, "replay: out of memory\n");
    return -1;
  }
  size_t n = fread(buf, 1, REPLAY_MAX_INPUT, f);
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    fprintf(stderr, "replay: %s: read error\n", path);
    return -1;
  }
  /* An exact-size copy, so that reading past the input is caught by ASan
   * as it would be under libFuzzer. */
  uint8_t *data = malloc(n ? n : 1);
  if (data == NULL) {
    free(buf);
    return -1;
  }
  memcpy(data, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(data, n);
  free(data);
  return 0;
}

/* Runs one input, in a child unless REPLAY_NO_FORK=1; 0 when it passed. */
static int run_file(const char *path) {
  const char *nf = getenv("REPLAY_NO_FORK");
  if (nf != NULL && strcmp(nf, "1") == 0) return run_input(path);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "replay: fork: %s\n", strerror(errno));
    return -1;
  }
  if (pid == 0) exit(run_input(path) == 0 ? 0 : 1);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFSIGNALED(status))
    printf("replay: FAILED %s (signal %d)\n", path, WTERMSIG(status));
  else
    printf("replay: FAILED %s (exit %d)\n", path, WEXITSTATUS(status));
  return -1;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir in name order; the count, or -1 when any
 * failed. */
static long run_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **nn = realloc(names, cap * sizeof *nn);
      if (nn == NULL) break;
      names = nn;
    }
    size_t len = strlen(dir) + strlen(de->d_name) + 2;
    names[n] = malloc(len);
    if (names[n] == NULL) break;
    snprintf(names[n], len, "%s/%s", dir, de->d_name);
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_names);
  long count = 0, failed = 0;
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
      if (run_file(names[i]) != 0) failed++;
      count++;
    }
    free(names[i]);
  }
  if (failed > 0) {
    printf("replay: %s: %ld of %ld inputs failed\n", dir, failed, count);
    count = -1;
  }
  free(names);
  return count;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  long total = 0;
  for (int a = 1; a < argc; a++) {
    struct stat st;
    if (stat(argv[a], &st) != 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[a], strerror(errno));
      return 1;
    }
    long c = S_ISDIR(st.st_mode) ? run_dir(argv[a]) : (run_file(argv[a]) == 0 ? 1 : -1);
    if (c < 0) return 1;
    total += c;
  }
  if (total == 0) {
    fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  printf("replay: %ld inputs passed\n", total);
  return 0;
}
