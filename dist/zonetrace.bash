# bash completion for zonetrace. Flags come from the CLI itself
# (`zonetrace CMD --help`), device names from `zonetrace profiles`, so the
# completion follows the options table without being edited.
_zonetrace()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local zt=${COMP_WORDS[0]} cmd=${COMP_WORDS[1]:-}
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "run report diff jetsam profiles options demo --help --version" -- "$cur"))
        return
    fi
    local i
    for ((i = 2; i < COMP_CWORD; i++)); do
        if [ "$cmd" = run ] && [ "${COMP_WORDS[i]}" = -- ]; then
            COMPREPLY=($(compgen -c -- "$cur"))
            return
        fi
    done
    case $prev in
    --device)
        COMPREPLY=($(compgen -W "$("$zt" profiles 2>/dev/null | awk 'NR > 1 && NF == 0 {exit} NR > 1 {print $1}')" -- "$cur"))
        return ;;
    --format)
        COMPREPLY=($(compgen -W "text json folded html" -- "$cur")); return ;;
    --by)
        COMPREPLY=($(compgen -W "stack zone class region" -- "$cur")); return ;;
    --stacks)
        COMPREPLY=($(compgen -W "off full sample" -- "$cur")); return ;;
    -o | --output | --output-dir)
        COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$("$zt" "$cmd" --help 2>/dev/null | grep -oE -- '(^|[ ,\[])--?[a-zA-Z][a-z-]*' | tr -d ' ,[' | sort -u)" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -F _zonetrace zonetrace
