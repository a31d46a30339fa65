/*
** sqltext.h — where a statement of a script begins, and on which line: the
** scripts' error messages (a migration's, a libSQL sequence's) name it.
*/
#ifndef DOSQL_SQLTEXT_H
#define DOSQL_SQLTEXT_H

#include <string.h>

/* z past the blanks and comments before its first token, as SQLite's tokenizer
** skips them (a statement that fails begins there, not at the comment above). */
static inline const char *dosqlFirstToken(const char *z){
  for(;;){
    while( *z==' ' || *z=='\t' || *z=='\n' || *z=='\r' || *z=='\f' || *z=='\v' ) z++;
    if( z[0]=='-' && z[1]=='-' ){
      z += strcspn(z, "\n");
    }else if( z[0]=='/' && z[1]=='*' ){
      const char *zEnd = strstr(z+2, "*/");
      z = zEnd ? zEnd+2 : z+strlen(z);
    }else{
      return z;
    }
  }
}

/* The line (from 1) of zText that zAt is on; a line ends at "\n", "\r\n" or a
** lone "\r" (old Mac files), as editors count them. */
static inline int dosqlLineOf(const char *zText, const char *zAt){
  int iLine = 1;
  for(; zText<zAt; zText++){
    iLine += *zText=='\n' || (*zText=='\r' && zText[1]!='\n');
  }
  return iLine;
}

#endif /* DOSQL_SQLTEXT_H */
