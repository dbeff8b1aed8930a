/* front_linux.c — placeholder */
