# embed_lua.cmake - write lua_sources.c: each lifecycle script of lua/, with
# lua/prelude.lua in front, as a C array, in the order of
# enum command__script_id (scripts.h). Run by the build:
#   cmake -DDIR=<lua dir> -DOUT=<file.c> -DSCRIPTS=enqueue,claim,... -P embed_lua.cmake
file(READ ${DIR}/prelude.lua prelude HEX)
set(out "/* Generated from plugins/command/lua by embed_lua.cmake: do not edit. */\n")
string(APPEND out "#include \"scripts.h\"\n\n")
set(table "")
string(REPLACE "," ";" SCRIPTS "${SCRIPTS}")
foreach(s ${SCRIPTS})
  file(READ ${DIR}/${s}.lua body HEX)
  set(hex "${prelude}0a${body}")
  string(LENGTH "${hex}" hexlen)
  math(EXPR len "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND out "static const char src_${s}[] = {\n${bytes}0x00};\n\n")
  string(APPEND table "    {\"${s}\", src_${s}, ${len}},\n")
endforeach()
string(APPEND out "const struct command__script command__scripts[COMMAND_NSCRIPTS] = {\n${table}};\n")
file(WRITE ${OUT} "${out}")
