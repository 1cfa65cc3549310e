// Jenkins' com.cloudbees.groovy.cps.NonCPS, which Pipeline scripts see without an import: a
// method run as plain Groovy (it may hold a regex Matcher, which CPS cannot serialise).
import java.lang.annotation.ElementType
import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy
import java.lang.annotation.Target

@Retention(RetentionPolicy.RUNTIME)
@Target([ElementType.METHOD])
@interface NonCPS { }
